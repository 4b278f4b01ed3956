"""Benchmark: what renewing needs, for a holder with 3 credentials and 3,000 entries.

Run with `make bench`. Prints seconds and SQL statements per credential, and the ratio against
a baseline measured in the same run: one hand-written SQL query that sums the day-capped units
of the same entries. The figures are printed, never asserted.
"""

import datetime
import time
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from credentials.services import credential_issue
from seu_ledger.models import Entry
from seu_ledger.selectors import dashboard_cards, renewal_requirements
from tests.factories import UserFactory, category, program

from .summary import record

ENTRIES = 3000
ROUNDS = 5


@pytest.mark.django_db
def test_renewal_requirements_for_a_busy_holder():
    holder = UserFactory()
    issued = datetime.date(2024, 1, 10)
    credentials = [
        credential_issue(holder=holder, program=program(code), issued_on=issued)
        for code in ("CSM", "CSPO", "PMI-ACP")
    ]
    categories = [category("scrum-alliance:learning"), category("pmi:giving-back")]
    start = datetime.date(2024, 1, 10)
    Entry.objects.bulk_create(
        Entry(
            holder=holder,
            activity_date=start + datetime.timedelta(days=index % 700),
            category=categories[index % 2],
            title=f"Activity {index}",
            hours=Decimal("1.25"),
        )
        for index in range(ENTRIES)
    )

    def measure(action):
        with CaptureQueriesContext(connection) as queries:
            began = time.perf_counter()
            for _ in range(ROUNDS):
                action()
            seconds = (time.perf_counter() - began) / ROUNDS
        return seconds, len(queries) // ROUNDS

    def ours():
        for credential in credentials:
            renewal_requirements(credential)

    def baseline():
        with connection.cursor() as cursor:
            for _ in credentials:
                cursor.execute(
                    "SELECT SUM(CASE WHEN day_units > 8 THEN 8 ELSE day_units END) FROM ("
                    " SELECT activity_date, SUM(hours) AS day_units FROM seu_ledger_entry"
                    " WHERE holder_id = %s AND voided_at IS NULL"
                    " AND activity_date BETWEEN %s AND %s GROUP BY activity_date) AS days",
                    [holder.pk, issued, datetime.date(2026, 1, 10)],
                )
                cursor.fetchone()

    def dashboard():
        dashboard_cards(holder.pk)

    ours_seconds, ours_queries = measure(ours)
    cards_seconds, cards_queries = measure(dashboard)
    base_seconds, base_queries = measure(baseline)
    print(
        f"\nrenewal_requirements, 3 credentials, {ENTRIES} entries ({connection.vendor}): "
        f"{ours_seconds * 1000:.1f} ms, {ours_queries} SQL statements; "
        f"baseline one SUM query per credential: {base_seconds * 1000:.1f} ms, "
        f"{base_queries} statements; ratio {ours_seconds / base_seconds:.1f}x"
        f"\ndashboard_cards (what the dashboard runs, one ledger load for all three): "
        f"{cards_seconds * 1000:.1f} ms, {cards_queries} SQL statements; "
        f"ratio {cards_seconds / base_seconds:.1f}x the same baseline"
    )
    section = f"Counting: a holder with 3 credentials and {ENTRIES:,} entries ({connection.vendor})"
    baseline = f"one SUM query per credential: {base_seconds * 1000:.1f} ms"
    record(
        section,
        "renewal_requirements, 3 credentials",
        f"{ours_seconds * 1000:.1f} ms, {ours_queries} queries",
        f"{ours_seconds / base_seconds:.1f}x {baseline}",
    )
    record(
        section,
        "dashboard_cards",
        f"{cards_seconds * 1000:.1f} ms, {cards_queries} queries",
        f"{cards_seconds / base_seconds:.1f}x {baseline}",
    )
