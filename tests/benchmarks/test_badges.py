"""Benchmark: Open Badges at the scale of the reminder scan, 200,000 credentials in PostgreSQL.

Run with `make bench`. Fills the database as the reminder-scan benchmark does, then measures,
each against a baseline in the same run:
- issuing: `badge_issue` for 1,000 terms (read the credential, sign, store, pick a bit)
  against signing the same documents alone;
- the daily job's status refresh over 200,000 issued credentials (every bit computed from
  the credential's status) against one hand-written SELECT of the rows it reads;
- serving a status list of 65,536 credentials (read the set bits, encode, sign) against
  reading and encoding them without signing.
Figures are printed, never asserted (but the refresh's query count, which must not grow).
"""

import datetime
import statistics
import time
import uuid

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from badges import bitstring, securing
from badges.models import STATUS_LIST_SIZE, IssuedBadge
from badges.selectors import status_bits_set, status_list_token
from badges.services import LIST_FILL, badge_issue, status_refresh
from credentials.models import Term
from cspo_tracker.bulk import insert_rows

from .summary import record
from .test_reminder_scan import ON, fill

ISSUED = 1_000
REPEATS = 3
SECTION = "Open Badges: 200,000 credentials"


def latest_terms() -> dict[int, int]:
    latest: dict[int, tuple[int, int]] = {}
    for credential_id, pk, sequence in Term.objects.values_list("credential_id", "pk", "sequence"):
        if credential_id not in latest or sequence > latest[credential_id][1]:
            latest[credential_id] = (pk, sequence)
    return {credential_id: pk for credential_id, (pk, _) in latest.items()}


def badges_fill(terms: dict[int, int]) -> int:
    """One issued credential per credential's latest term (a stand-in JWT), bits as a fresh
    issue would leave them (clear), indexes spread over lists of LIST_FILL."""
    now = timezone.now()
    rows = []
    for number, (credential_id, term_id) in enumerate(sorted(terms.items())):
        rows.append(
            (
                credential_id,
                term_id,
                uuid.uuid4(),
                now,
                "",
                ON,
                None,
                "bench",
                "x.y.z",
                number // LIST_FILL + 1,
                (number * 7919) % STATUS_LIST_SIZE,
                False,
                False,
            )
        )
    return insert_rows(
        IssuedBadge,
        ["credential_id", "term_id", "badge_id", "issued_at", "subject_did", "valid_from"]
        + ["valid_until", "key_id", "jwt", "status_list", "status_index", "revoked"]
        + ["suspended"],
        rows,
    )


REFRESH_SQL = """
    SELECT b.id, b.term_id, b.revoked, b.suspended, c.id, c.revoked_at, c.verified,
           p.validity_months, p.grace_days, p.valid_after_end, p.lapse_is_final,
           u.is_active, t.id, t.sequence, t.starts_on, t.ends_on
    FROM badges_issuedbadge b
    JOIN credentials_credential c ON c.id = b.credential_id
    JOIN credentials_program p ON p.id = c.program_id
    JOIN credentials_user u ON u.id = c.holder_id
    JOIN credentials_term t ON t.credential_id = c.id
"""


@pytest.mark.django_db
def test_open_badges_at_scale():
    if connection.vendor != "postgresql":
        pytest.skip("the benchmark needs PostgreSQL")
    started = time.perf_counter()
    fill()
    terms = latest_terms()
    print(
        f"\nOpen Badges: {len(terms):,} credentials filled in {time.perf_counter() - started:.1f} s"
    )

    with time_machine.travel(datetime.datetime.combine(ON, datetime.time(12)), tick=False):
        # Issuing, against signing the same documents alone.
        chosen = list(
            Term.objects.filter(pk__in=list(terms.values())[:ISSUED]).select_related("credential")
        )
        begin = time.perf_counter()
        issued = [badge_issue(term) for term in chosen]
        issue_seconds = time.perf_counter() - begin
        payloads = [securing.open_signed(badge.jwt).document for badge in issued]
        begin = time.perf_counter()
        for payload in payloads:
            securing.sign(payload)
        sign_seconds = time.perf_counter() - begin
        IssuedBadge.objects.all().delete()

        stored = badges_fill(terms)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

        # The daily refresh, against one SELECT of what it reads.
        base, refresh, queries = [], [], []
        changed = 0
        for _ in range(REPEATS):
            with connection.cursor() as cursor:
                begin = time.perf_counter()
                cursor.execute(REFRESH_SQL)
                cursor.fetchall()
                base.append(time.perf_counter() - begin)
            IssuedBadge.objects.update(revoked=False, suspended=False)
            with CaptureQueriesContext(connection) as captured:
                begin = time.perf_counter()
                changed = status_refresh()
                refresh.append(time.perf_counter() - begin)
            queries.append(len(captured))

        # One status list, against the same bits read and encoded unsigned.
        served, encoded = [], []
        for _ in range(REPEATS * 3):
            begin = time.perf_counter()
            status_list_token("suspension", 1)
            served.append(time.perf_counter() - begin)
            begin = time.perf_counter()
            bitstring.encode(status_bits_set("suspension", 1))
            encoded.append(time.perf_counter() - begin)

    per_issue = issue_seconds / ISSUED * 1000
    per_sign = sign_seconds / ISSUED * 1000
    select, ours = statistics.median(base), statistics.median(refresh)
    list_ms, encode_ms = statistics.median(served) * 1000, statistics.median(encoded) * 1000
    set_bits = len(status_bits_set("suspension", 1))
    print(
        f"  issue one credential: {per_issue:.2f} ms (signing alone {per_sign:.2f} ms, "
        f"{per_issue / per_sign:.1f}x)\n"
        f"  status refresh of {stored:,}: {ours:.2f} s, {changed:,} changed a bit "
        f"(one SELECT of what it reads {select:.2f} s, {ours / select:.1f}x)\n"
        f"  status list of {min(stored, LIST_FILL):,} credentials, {set_bits:,} bits set: "
        f"{list_ms:.1f} ms (unsigned {encode_ms:.1f} ms, {list_ms / encode_ms:.2f}x)"
    )
    record(
        SECTION,
        "issue one credential (read, sign, store)",
        f"{per_issue:.2f} ms",
        f"{per_issue / per_sign:.1f}x signing it alone: {per_sign:.2f} ms",
    )
    record(
        SECTION,
        f"daily status refresh of {stored:,} ({changed:,} change a bit)",
        f"{ours:.2f} s, {queries[0]} queries",
        f"{ours / select:.1f}x one SELECT of what it reads: {select:.2f} s",
    )
    record(
        SECTION,
        f"serve a status list ({min(stored, LIST_FILL):,} credentials)",
        f"{list_ms:.1f} ms",
        f"{list_ms / encode_ms:.2f}x reading and encoding it unsigned: {encode_ms:.1f} ms",
    )
    assert queries[0] == queries[-1]
