"""Benchmark: the dashboard and the history for a holder with 30,000 activities over ten years,
against one with 30 (and one with 3,000, to see the line between them).

Run with `make bench` (PostgreSQL only; skipped elsewhere). Each holder earned a CSPO on a
course and renewed it every two years, and holds a PMP renewed every three years. Their
activities are spread evenly over the ten years, in Scrum Alliance categories and in PMI's
Education skill areas (some split across two) and Giving Back, so both issuers' counting runs
(daily cap, category limits, carry-over); a few are voided. The renewals are made by
`credential_renew` on their due days, so what each consumed and carried over is what the
rules say.

Timed, the median of ROUNDS runs after a warm-up, the runs of every holder and page taking
turns:
- the dashboard as a holder's browser gets it, drawn anew each time: the page cache is emptied
  before every request, so no run is served a stored page;
- the history's first page (25 activities) as the holder opens it, and filtered by the CSPO's
  current term;
- the counting alone: `dashboard_cards` (what the dashboard runs) and `entry_outcomes` for
  every activity (what the history's downloads run; the page puts only its rows in words).

Printed and recorded (`summary.record`): seconds per holder, wall-clock and this process's
CPU time (the steadier figure on a shared machine; the database's own time is not in it), the
ratio big/small against the entries ratio (1000x) and big/middle against 10x (counting that
grows linearly keeps the second near 10 or under), and the SQL queries each page costs. Times
are never asserted; equal queries for every holder are, since that is the design's rule (a
page's queries do not grow with the data).
"""

import datetime
import gc
import statistics
import time
from decimal import Decimal

import pytest
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from credentials.dates import add_months
from credentials.models import Course, Credential, Term
from credentials.selectors import credential_current_term, today
from credentials.services import attendance_record, credential_issue
from cspo_tracker.bulk import insert_rows
from seu_ledger.models import Allocation, Entry, Renewal
from seu_ledger.selectors import dashboard_cards, entry_outcomes, holder_ledger
from seu_ledger.services import credential_renew, fee_waive
from tests.benchmarks.summary import record
from tests.factories import StaffFactory, UserFactory, category, program

SECTION = "Growth: a holder with 30, 3,000 or 30,000 activities over ten years"
SMALL, MIDDLE, BIG = 30, 3_000, 30_000
YEARS = 10
ROUNDS = 5
# In turn: every 8 activities cover both issuers, each PMI skill area and Giving Back.
CATEGORIES = (
    "scrum-alliance:learning",
    "pmi:power-skills",
    "pmi:volunteering",
    "pmi:business-acumen",
    "scrum-alliance:events",
    "pmi:ways-of-working",  # every other one split between Power Skills and Business Acumen
    "pmi:working-as-practitioner",
    "pmi:creating-knowledge",
)


def activities_logged(holder, count: int, start: datetime.date, end: datetime.date) -> None:
    """`count` activities spread evenly from `start` to `end`. A few holders' worth of
    activities a day pass the daily cap; with few, each is a full day (8 hours) so every
    renewal has what it needs."""
    keys = {key: category(key) for key in CATEGORIES}
    split_into = (category("pmi:power-skills"), category("pmi:business-acumen"))
    span = (end - start).days
    hours_cycle = [Decimal(8)] if count < 100 else [Decimal(h) for h in ("0.5", "1", "1.5", "2")]
    voided_at = timezone.now()
    first_pk = (Entry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    entries, allocations = [], []
    for index in range(count):
        pk = first_pk + index
        key = CATEGORIES[index % len(CATEGORIES)]
        hours = hours_cycle[index % len(hours_cycle)]
        voided = count >= 100 and index % 97 == 41
        entries.append(
            (
                pk,
                holder.pk,
                start + datetime.timedelta(days=index * span // count),
                keys[key].pk,
                f"Activity {index}",
                "",
                hours,
                "",
                "",
                voided_at if voided else None,
                "Logged twice" if voided else "",
                voided_at,
                voided_at,
            )
        )
        if key == "pmi:ways-of-working" and index % 16 == 5:
            half = (hours / 2 / Decimal("0.25")).to_integral_value() * Decimal("0.25")
            allocations.append((pk, split_into[0].pk, half))
            allocations.append((pk, split_into[1].pk, hours - half))
    columns = ["id", "holder_id", "activity_date", "category_id", "title", "provider", "hours"]
    columns += ["description", "evidence", "voided_at", "void_reason", "created_at", "updated_at"]
    insert_rows(Entry, columns, entries)
    insert_rows(Allocation, ["entry_id", "category_id", "hours"], allocations)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('seu_ledger_entry', 'id'), "
            "(SELECT MAX(id) FROM seu_ledger_entry))"
        )


def holder_with_ten_years(count: int, staff) -> tuple:
    """A holder with `count` activities over ten years, a CSPO earned on a course 10 years ago
    and renewed every 2 years (due again in two months), and a PMP renewed every 3 years."""
    on = today()
    start = add_months(on, -12 * YEARS) + datetime.timedelta(days=1)
    holder = UserFactory()
    activities_logged(holder, count, start, on - datetime.timedelta(days=1))
    course_end = start + datetime.timedelta(days=60)
    course = Course.objects.create(
        code=f"GROWTH-{holder.pk}",
        program=program("CSPO"),
        start_date=course_end - datetime.timedelta(days=1),
        end_date=course_end,
        hours=Decimal(16),
    )
    _, cspo = attendance_record(
        holder=holder, course=course, hours_attended=Decimal(16), completed=True
    )
    pmp = credential_issue(
        holder=holder, program=program("PMP"), issued_on=start + datetime.timedelta(days=300)
    )
    due = []
    for credential in (cspo, pmp):
        ends_on = credential_current_term(credential).ends_on
        while ends_on < on:
            due.append((ends_on, credential.pk))
            ends_on = add_months(ends_on, credential.program.validity_months)
    for day, credential_id in sorted(due):  # the renewals in the order they happened
        credential = Credential.objects.get(pk=credential_id)
        fee_waive(credential=credential, recorded_by=staff, reason="Benchmark")
        credential_renew(credential=credential, on=day, renewed_by=staff)
    return holder, len(due)


def timed(action) -> tuple[float, float]:
    """Wall-clock and CPU seconds (this process) of one run. The garbage earlier runs left is
    collected first, uncounted, so no run pays for another's; its own collections count."""
    gc.collect()
    began, began_cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - began, time.process_time() - began_cpu


def medians(actions: dict) -> dict:
    """{key: (median wall-clock, median CPU seconds)} of ROUNDS runs of each action, after a
    warm-up. The runs take turns (one of each per round), so a machine that gets busier or
    quieter meanwhile weighs on every action alike."""
    for action in actions.values():
        action()  # warm-up: templates compiled, connection ready
    runs = {key: [] for key in actions}
    for _ in range(ROUNDS):
        for key, action in actions.items():
            runs[key].append(timed(action))
    return {
        key: tuple(statistics.median(clock) for clock in zip(*times, strict=True))
        for key, times in runs.items()
    }


def queries_of(action) -> int:
    with CaptureQueriesContext(connection) as queries:
        action()
    return len(queries)


def actions_for(holder) -> dict:
    """{what: a function doing it} for one holder."""
    client = Client()
    client.force_login(holder)
    cspo_term = Term.objects.filter(
        credential__holder=holder, credential__program__code="CSPO"
    ).latest("sequence")

    def dashboard():
        caches["pages"].clear()  # drawn anew every time, never served from the page cache
        response = client.get(reverse("ledger:dashboard"))
        assert response.status_code == 200
        assert b"CSPO" in response.content
        assert b"PMP" in response.content

    def history():
        response = client.get(reverse("ledger:history"))
        assert response.status_code == 200
        assert b"1 to 25 on this page" in response.content

    def history_of_term():
        response = client.get(reverse("ledger:history"), {"term": cspo_term.pk})
        assert response.status_code == 200
        assert b"match the filter" in response.content

    def cards():
        assert len(dashboard_cards(holder.pk)) == 2

    def outcomes():
        entry_outcomes(holder_ledger(holder.pk))

    return {
        "dashboard page": dashboard,
        "history page": history,
        "history, CSPO term": history_of_term,
        "dashboard_cards": cards,
        "every entry's outcome": outcomes,
    }


@pytest.mark.django_db
def test_dashboard_and_history_for_30_or_30_000_activities():
    if connection.vendor != "postgresql":
        pytest.skip("the growth benchmark needs PostgreSQL")
    staff = StaffFactory()
    began = time.perf_counter()
    holders = {count: holder_with_ten_years(count, staff) for count in (SMALL, MIDDLE, BIG)}
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    built = time.perf_counter() - began
    big = holders[BIG][0]
    consumed = Renewal.entries.through.objects.filter(entry__holder=big).count()
    print(
        f"\ngrowth: three holders with a CSPO (from a course, renewed every 2 years) and a PMP "
        f"(every 3), activities over {YEARS} years; built in {built:.1f} s ({connection.vendor})"
    )
    for holder, renewed in holders.values():
        print(
            f"  {Entry.objects.filter(holder=holder).count():>6,} activities (course hours "
            f"included), {renewed} renewals"
            + (f", {consumed:,} activity-renewal links" if holder == big else "")
        )
    actions = {
        (count, name): action
        for count, (holder, _) in holders.items()
        for name, action in actions_for(holder).items()
    }
    times = medians(actions)
    queries = {key: queries_of(action) for key, action in actions.items()}
    names = list(actions_for(holders[SMALL][0]))
    for clock, label in ((0, "wall-clock"), (1, "CPU, this process")):
        print(
            f"  {label}, median of {ROUNDS} runs\n"
            f"  {'':<22} {SMALL:>9,} {MIDDLE:>12,} {BIG:>12,}   big/small  big/middle"
        )
        for name in names:
            seconds = {count: times[(count, name)][clock] for count in holders}
            over_small = seconds[BIG] / seconds[SMALL]
            over_middle = seconds[BIG] / seconds[MIDDLE]
            print(
                f"  {name:<22} {seconds[SMALL] * 1000:6.1f} ms {seconds[MIDDLE] * 1000:9.1f} ms "
                f"{seconds[BIG] * 1000:9.1f} ms {over_small:9.1f}x {over_middle:10.1f}x"
            )
            if clock == 1:  # the summary keeps the steadier CPU figures
                record(
                    SECTION,
                    f"{name}, CPU ms for {SMALL:,} / {MIDDLE:,} / {BIG:,} activities",
                    " / ".join(f"{seconds[count] * 1000:.0f}" for count in (SMALL, MIDDLE, BIG)),
                    f"{over_middle:.1f}x for 10x the activities, {over_small:.0f}x for 1000x",
                )
    print("  SQL queries (the dashboard drawn anew: page cache emptied)")
    for name in names:
        counts = [queries[(count, name)] for count in holders]
        print(f"  {name:<22} " + " / ".join(str(number) for number in counts))
        record(
            SECTION,
            f"{name}, queries for {SMALL:,} / {MIDDLE:,} / {BIG:,} activities",
            " / ".join(str(number) for number in counts),
            "the same",
        )
        assert len(set(counts)) == 1, (name, counts)
    print(
        f"  entries ratio big/small {BIG // SMALL}x, big/middle {BIG // MIDDLE}x: counting "
        f"that grows linearly keeps big/middle near {BIG // MIDDLE}x or under"
    )
