"""Every list endpoint costs the same number of queries for a page of 2 rows as for a page of
20, and no more than a small bound."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api.models import Delivery, DeliveryAttempt, Event
from api.webhooks import endpoint_create
from credentials.models import User
from credentials.roster.imports import roster_import_check
from credentials.services import credential_issue
from seu_ledger.models import Reminder
from seu_ledger.services import entry_log
from tests.factories import category, program

pytestmark = pytest.mark.django_db
ROSTER = b"email,first_name,last_name,course_code,end_date\nq@example.com,Q,R,Q-1,2026-01-02\n"


def grow(n: int, holder: User) -> None:
    """n more of everything each list shows."""
    start = User.objects.count()
    endpoint = endpoint_create(url="https://hr.example.com/q", events=["credential.issued"])
    for i in range(start, start + n):
        other = User.objects.create(email=f"q{i}@example.com")
        credential = credential_issue(
            holder=other, program=program("CSPO"), issued_on=datetime.date(2025, 1, 1)
        )
        entry_log(
            holder=holder,
            activity_date=datetime.date(2025, 6, 1) + datetime.timedelta(days=i % 200),
            category=category("scrum-alliance:learning"),
            title=f"Entry {i}",
            hours=Decimal(2),
        )
        term = credential.terms.get()
        Reminder.objects.create(
            holder=other,
            term=term,
            days_before=30,
            term_ends_on=term.ends_on,
            kind=Reminder.Kind.EXPIRY_APPROACHING,
            created_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
        )
        roster_import_check(data=ROSTER, name=f"r{i}.csv", uploaded_by=None)
        event = Event.objects.create(
            type="credential.issued",
            key=f"q{i}",
            subject=f"credential:{i}",
            payload={},
            occurred_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
        )
        delivery = Delivery.objects.create(event=event, endpoint=endpoint)
        DeliveryAttempt.objects.create(
            delivery=delivery,
            attempted_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
            status_code=500,
        )
    credential_issue(holder=holder, program=program("CSPO"), issued_on=datetime.date(2025, 1, 1))


LISTS = [
    ("staff", "/api/v1/programs/?page_size=40"),
    ("staff", "/api/v1/categories/?page_size=40"),
    ("staff", "/api/v1/holders/?page_size=40"),
    ("staff", "/api/v1/credentials/?page_size=40"),
    ("staff", "/api/v1/credentials/?page_size=40&status=active"),
    ("staff", "/api/v1/roster-imports/?page_size=40"),
    ("staff", "/api/v1/reminders/?page_size=40"),
    ("staff", "/api/v1/webhook-endpoints/?page_size=40"),
    ("staff", "/api/v1/webhook-deliveries/?page_size=40"),
    ("holder", "/api/v1/me/credentials/?page_size=40"),
    ("holder", "/api/v1/me/entries/?page_size=40"),
]


@pytest.mark.parametrize(("who", "url"), LISTS)
def test_a_list_costs_the_same_queries_for_2_rows_as_for_20(who, url, api_staff, holder_a):
    from .conftest import Caller, personal

    caller = (
        api_staff if who == "staff" else Caller(api_staff.client.__class__(), personal(holder_a))
    )

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = caller.get(url)
        assert response.status_code == 200, response.content[:300]
        return len(captured)

    grow(2, holder_a)
    caller.get(url)  # the token's last-used time is written on its first use in a minute
    few = queries()
    grow(18, holder_a)
    many = queries()
    assert many == few, (url, few, many)
    assert many <= 14, (url, many)
