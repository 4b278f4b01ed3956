"""The SQL status filter and the Python status rule agree, day by day."""

import datetime

import pytest

from credentials.selectors import Status, credential_status, credentials_in_status
from credentials.services import credential_issue
from tests.factories import UserFactory, program

pytestmark = pytest.mark.django_db

ISSUED = [
    ("CSPO", "2024-03-15"),
    ("CSP-PO", "2024-03-15"),
    ("CSP-SM", "2024-02-29"),
    ("PSPO I", "2020-01-01"),
    ("PMI-ACP", "2023-06-30"),
    ("SAFe POPM", "2025-12-31"),
]
DAYS = [
    "2024-03-14",
    "2024-03-15",
    "2025-12-14",
    "2025-12-15",
    "2026-02-28",
    "2026-03-01",
    "2026-03-15",
    "2026-03-16",
    "2026-06-13",
    "2026-06-14",
    "2026-06-30",
    "2026-07-01",
    "2026-12-31",
    "2027-01-01",
]


def test_sql_status_filter_matches_the_python_rule_on_every_day():
    credentials = []
    for code, issued in ISSUED:
        credentials.append(
            credential_issue(
                holder=UserFactory(),
                program=program(code),
                issued_on=datetime.date.fromisoformat(issued),
            )
        )
    for text in DAYS:
        on = datetime.date.fromisoformat(text)
        for status in Status:
            in_sql = set(credentials_in_status(status, on).values_list("pk", flat=True))
            in_python = {c.pk for c in credentials if credential_status(c, on) == status}
            assert in_sql == in_python, (text, status)


def test_status_filter_costs_two_queries_however_many_credentials(django_assert_max_num_queries):
    for index in range(30):
        credential_issue(
            holder=UserFactory(),
            program=program("CSPO"),
            issued_on=datetime.date(2024, 1, 1 + index),
        )
    with django_assert_max_num_queries(2):
        assert len(list(credentials_in_status(Status.ACTIVE, datetime.date(2024, 6, 1)))) == 30
