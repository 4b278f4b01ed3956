"""The public verification page around the end of a term: grace, its last day, lapse."""

import datetime
import re

import pytest
import time_machine
from django.urls import reverse

from credentials.models import Term
from credentials.services import credential_issue
from tests.factories import UserFactory, program

pytestmark = pytest.mark.django_db


def on(day: datetime.date):
    return time_machine.travel(datetime.datetime.combine(day, datetime.time(12), datetime.UTC))


def issue(code, issued_on, ends_on=None):
    with on(issued_on):
        credential = credential_issue(
            holder=UserFactory(first_name="Pat"), program=program(code), issued_on=issued_on
        )
    if ends_on is not None:
        Term.objects.filter(credential=credential).update(ends_on=ends_on)
    return credential


def page(client, credential, day) -> str:
    """The page's visible text on `day`, whitespace collapsed."""
    with on(day):
        response = client.get(reverse("credentials:verify", args=[credential.verification_code]))
    assert response.status_code == 200
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


@pytest.fixture
def csp_po():
    """A CSP-PO (90 days of grace) valid through 8 Dec 2026."""
    return issue("CSP-PO", datetime.date(2024, 12, 8))


def test_on_the_last_valid_day_the_page_says_active_and_nothing_about_grace(client, csp_po):
    text = page(client, csp_po, datetime.date(2026, 12, 8))
    assert "Active Valid" in text
    assert "Valid through 8 Dec 2026" in text
    assert "until" not in text


def test_the_day_after_the_end_the_page_counts_down_the_grace_period(client, csp_po):
    text = page(client, csp_po, datetime.date(2026, 12, 9))
    assert "In grace Valid" in text
    assert "In grace until 8 Mar 2027: 89 days left to renew" in text
    text = page(client, csp_po, datetime.date(2026, 12, 28))
    assert "In grace until 8 Mar 2027: 70 days left to renew" in text
    text = page(client, csp_po, datetime.date(2027, 3, 7))
    assert "In grace until 8 Mar 2027: 1 day left to renew" in text


def test_on_the_last_grace_day_the_page_says_it_is_the_last_day(client, csp_po):
    text = page(client, csp_po, datetime.date(2027, 3, 8))
    assert "In grace Valid" in text
    assert "In grace until 8 Mar 2027: today is the last day to renew" in text


def test_the_day_after_grace_the_credential_has_lapsed_with_no_countdown(client, csp_po):
    text = page(client, csp_po, datetime.date(2027, 3, 9))
    assert "Lapsed Not valid" in text
    assert "until" not in text
    assert "to renew" not in text


def test_a_february_29_end_counts_grace_from_that_day(client):
    credential = issue("CSP-PO", datetime.date(2026, 2, 28), ends_on=datetime.date(2028, 2, 29))
    assert "Active Valid" in page(client, credential, datetime.date(2028, 2, 29))
    text = page(client, credential, datetime.date(2028, 3, 1))
    assert "In grace until 29 May 2028: 89 days left to renew" in text
    text = page(client, credential, datetime.date(2028, 5, 29))
    assert "In grace until 29 May 2028: today is the last day to renew" in text
    assert "Lapsed" in page(client, credential, datetime.date(2028, 5, 30))


def test_a_pmi_suspension_is_counted_down_in_pmi_words_and_is_not_valid(client):
    credential = issue("PMP", datetime.date(2023, 3, 15))  # valid through 15 Mar 2026
    text = page(client, credential, datetime.date(2026, 3, 16))
    assert "Suspended Not valid" in text
    assert "Suspended until 15 Mar 2027: 364 days left to renew" in text


def test_a_program_without_grace_lapses_the_day_after_with_no_countdown(client):
    credential = issue("CSPO", datetime.date(2024, 3, 15))
    text = page(client, credential, datetime.date(2026, 3, 16))
    assert "Lapsed Not valid" in text
    assert "to renew" not in text
