"""Benchmark: the daily reminder scan over 200,000 credentials in PostgreSQL.

Run with `make bench`. Fills the database (with COPY) with 100,000 holders and 200,000
credentials of every program, ending anywhere from 15 months ago to 27 months ahead (active,
expiring, in grace, lapsed, lifetime, some renewed, some holders unsubscribed or deactivated),
and a reminder history from the three previous daily runs. Then it times the scan, recording
the reminders due that day (`reminders_record`: the schedules, then one INSERT ... SELECT),
against one hand-written SQL query selecting the same due set, in the same run, and checks the
two sets are equal. Figures are printed, never asserted.
"""

import datetime
import statistics
import time
import uuid

import pytest
from django.db import connection, transaction
from django.utils import timezone

from credentials.models import Credential, Program, Term, User
from cspo_tracker.bulk import insert_rows
from seu_ledger.models import Reminder
from seu_ledger.reminders.schedule import point_ranges
from seu_ledger.reminders.selectors import due_terms
from seu_ledger.reminders.services import reminders_record

from .summary import record

HOLDERS = 100_000
CREDENTIALS = 200_000
ON = datetime.date(2026, 3, 2)
REPEATS = 5
DAYS_730 = datetime.timedelta(days=730)


def fill() -> None:
    programs = list(Program.objects.order_by("pk"))
    now = timezone.now()
    stopped = now - datetime.timedelta(days=30)
    insert_rows(
        User,
        ["id", "email", "password", "is_active", "is_staff", "is_superuser", "date_joined"]
        + ["first_name", "last_name", "reminders_unsubscribed_at", "state"],
        (
            (
                pk,
                f"holder{pk}@example.com",
                "!",
                pk % 100 != 0,  # 1% deactivated
                False,
                False,
                now,
                "First",
                f"Holder{pk}",
                stopped if pk % 33 == 0 else None,  # 3% unsubscribed
                User.State.ACTIVE if pk % 100 else User.State.DEACTIVATED,
            )
            for pk in range(1, HOLDERS + 1)
        ),
    )
    credentials, terms = [], []
    for pk in range(1, CREDENTIALS + 1):
        holder = (pk - 1) // 2 + 1
        program = programs[(pk * 7 + holder) % len(programs)]
        # Spread the current term's end from 450 days ago to 820 days ahead.
        ends_on = ON + datetime.timedelta(days=(pk * 37) % 1270 - 450)
        lifetime = program.validity_months is None
        credentials.append(
            (pk, holder, program.pk, ON - datetime.timedelta(days=900), now, uuid.UUID(int=pk))
        )
        if lifetime:
            terms.append((pk, 1, ON - datetime.timedelta(days=900), None))
        elif pk % 10 == 0:  # renewed once: an old term, then the current one
            terms.append((pk, 1, ends_on - datetime.timedelta(days=1460), ends_on - DAYS_730))
            terms.append((pk, 2, ends_on - DAYS_730, ends_on))
        else:
            terms.append((pk, 1, ends_on - DAYS_730, ends_on))
    insert_rows(
        Credential,
        ["id", "holder_id", "program_id", "issued_on", "created_at", "verification_code"]
        + ["certificate_number", "verified"],
        (row + ("", True) for row in credentials),
    )
    insert_rows(Term, ["credential_id", "sequence", "starts_on", "ends_on"], terms)
    with connection.cursor() as cursor:
        for table in ("credentials_user", "credentials_credential", "credentials_term"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT MAX(id) FROM {table}))"
            )
        cursor.execute("ANALYZE")


def hand_written(on: datetime.date) -> tuple[str, list]:
    """The due set as one SQL query, with the schedules as a VALUES list (the date ranges of
    each point; the test suite checks those ranges against the rule itself)."""
    ranges = [r for p in Program.objects.all() for r in point_ranges(p, on)]
    values = ", ".join(["(%s, %s, %s::date, %s::date)"] * len(ranges))
    params = [x for r in ranges for x in (r.program_id, r.point, r.ends_from, r.ends_to)]
    sql = f"""
        WITH schedule(program_id, point, ends_from, ends_to) AS (VALUES {values})
        SELECT t.id, c.holder_id, s.point, t.ends_on
        FROM credentials_term t
        JOIN credentials_credential c ON c.id = t.credential_id
        JOIN credentials_user u ON u.id = c.holder_id
        JOIN schedule s ON s.program_id = c.program_id
             AND t.ends_on BETWEEN s.ends_from AND s.ends_to
        WHERE u.is_active
          AND (t.ends_on <= %s OR u.reminders_unsubscribed_at IS NULL)
          AND NOT EXISTS (SELECT 1 FROM credentials_term n
                          WHERE n.credential_id = t.credential_id AND n.sequence > t.sequence)
          AND NOT EXISTS (SELECT 1 FROM seu_ledger_reminder r
                          WHERE r.term_id = t.id AND r.days_before = s.point)
    """
    return sql, [*params, on]


class Counter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


@pytest.mark.django_db
def test_reminder_scan_against_hand_written_sql():
    if connection.vendor != "postgresql":
        pytest.skip("the benchmark needs PostgreSQL")
    started = time.perf_counter()
    fill()
    history = 0
    for back in (3, 2, 1):  # the previous days' runs
        history += reminders_record(on=ON - datetime.timedelta(days=back))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE seu_ledger_reminder")
    print(
        f"\nreminder scan: {User.objects.count():,} holders, {Credential.objects.count():,} "
        f"credentials, {Term.objects.count():,} terms, {history:,} reminders recorded on the "
        f"three previous days; filled in {time.perf_counter() - started:.1f} s"
    )

    sql, params = hand_written(ON)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        expected = {(row[0], row[2]) for row in cursor.fetchall()}
    ours = {(term.pk, term.point) for term in due_terms(ON)}
    assert ours == expected, "the scan and the hand-written query disagree"

    baseline_times, scan_times, select_times, statements, recorded = [], [], [], [], 0
    stored = Reminder.objects.count()
    for _ in range(REPEATS):
        with connection.cursor() as cursor:
            begin = time.perf_counter()
            cursor.execute(sql, params)
            cursor.fetchall()
            baseline_times.append(time.perf_counter() - begin)
        begin = time.perf_counter()
        list(due_terms(ON).values_list("pk", "point"))
        select_times.append(time.perf_counter() - begin)
        with transaction.atomic():
            counter = Counter()
            with connection.execute_wrapper(counter):
                begin = time.perf_counter()
                recorded = reminders_record(on=ON)
                scan_times.append(time.perf_counter() - begin)
            statements.append(counter.count)
            transaction.set_rollback(True)  # the next repetition finds the same due set
    baseline = statistics.median(baseline_times)
    scan = statistics.median(scan_times)
    select = statistics.median(select_times)
    assert recorded == len(expected)
    assert Reminder.objects.count() == stored  # each repetition was rolled back
    print(
        f"due on {ON}: {len(expected):,} reminders (median of {REPEATS} runs)\n"
        f"  hand-written SELECT (1 statement):          {baseline * 1000:8.1f} ms\n"
        f"  our due-set SELECT through the ORM:         {select * 1000:8.1f} ms "
        f"({select / baseline:.2f}x)\n"
        f"  our scan, recording them ({statements[0]} statements):  {scan * 1000:8.1f} ms "
        f"= {scan / baseline:.2f}x the hand-written query"
    )
    section = f"Reminder scan: {Credential.objects.count():,} credentials, {len(expected):,} due"
    hand = f"the hand-written SELECT: {baseline * 1000:.1f} ms"
    record(
        section, "our due-set SELECT", f"{select * 1000:.1f} ms", f"{select / baseline:.2f}x {hand}"
    )
    record(
        section,
        f"our scan, recording them ({statements[0]} statements)",
        f"{scan * 1000:.1f} ms",
        f"{scan / baseline:.2f}x {hand}",
    )
