"""The activity form (log, edit, void) as a holder meets it, through the real views."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.urls import reverse

from credentials.services import attendance_record, credential_issue, licence_accept
from seu_ledger.forms import VoidForm
from seu_ledger.models import Entry
from seu_ledger.services import (
    ENTRY_FROM_COURSE,
    entry_edit,
    entry_log,
    entry_void,
)
from tests.factories import UserFactory, category, cspo_course, program

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2025, 12, 1, 12, tzinfo=datetime.UTC)
PDF = b"%PDF-1.4\n%kept evidence\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Evidence files in a folder of the test's own."""
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


def holder_with(*codes, issued_on=datetime.date(2024, 3, 15), **fields):
    holder = UserFactory(**fields)
    licence_accept(user=holder)
    for code in codes:
        credential_issue(holder=holder, program=program(code), issued_on=issued_on)
    return holder


@pytest.fixture
def pat():
    return holder_with("CSPO", email="pat@example.com", first_name="Pat")


@pytest.fixture
def signed_in(client, pat):
    client.force_login(pat)
    return client


def entry_data(**overrides):
    data = {
        "activity_date": "2025-06-01",
        "category": category("scrum-alliance:learning").pk,
        "title": "Sprint review workshop",
        "provider": "Agile Co",
        "hours": "6",
        "description": "",
    }
    data.update(overrides)
    return data


def create(client, **overrides):
    return client.post(reverse("ledger:entry_create"), entry_data(**overrides))


def errors_of(response) -> dict[str, list[str]]:
    return {field: list(messages) for field, messages in response.context["form"].errors.items()}


# --- 2. The error summary --------------------------------------------------------------------


def test_the_error_summary_takes_any_form_and_counts_in_words():
    form = VoidForm({"reason": ""})
    form.add_error(None, "This entry is already voided.")
    html = render_to_string("includes/error_summary.html", {"form": form})
    assert "There are 2 problems with this form" in html
    assert "<li>This entry is already voided.</li>" in html  # no field to link to
    assert '<a class="alert-link" href="#id_reason">Reason: This field is required.</a>' in html
    one = render_to_string(
        "includes/error_summary.html", {"form": VoidForm({"reason": ""}), "subject": "this"}
    )
    assert "There is 1 problem with this" in one
    assert render_to_string("includes/error_summary.html", {"form": VoidForm()}).strip() == ""


def test_the_void_page_shows_the_error_summary(signed_in, pat):
    entry = entry_log(
        holder=pat,
        activity_date=datetime.date(2025, 6, 1),
        category=category("scrum-alliance:learning"),
        title="Talk",
        hours=Decimal(1),
    )
    response = signed_in.post(reverse("ledger:entry_void", args=[entry.pk]), {"reason": ""})
    html = response.content.decode()
    assert "There is 1 problem with voiding this activity" in html
    assert 'href="#id_reason"' in html


# --- 8. Course hours from a roster -------------------------------------------------------------


@pytest.fixture
def course_entry(pat):
    course = cspo_course("CSPO-2025-06", title="CSPO in Lisbon", hours=Decimal(16))
    attendance_record(holder=pat, course=course, hours_attended=Decimal(16), completed=True)
    return Entry.objects.filter(holder=pat, source_course=course).first()


def test_course_hours_are_a_course_record(course_entry):
    assert course_entry.is_course_record
    assert not Entry(title="Meetup").is_course_record


@pytest.mark.parametrize("page", ["ledger:entry_edit", "ledger:entry_void"])
def test_a_holder_cannot_edit_or_void_course_hours_and_is_told_why(
    signed_in, course_entry, page, django_assert_max_num_queries
):
    url = reverse(page, args=[course_entry.pk])
    with django_assert_max_num_queries(4):
        response = signed_in.get(url)
    html = response.content.decode()
    assert response.status_code == 403
    assert ENTRY_FROM_COURSE.format(course="CSPO in Lisbon") in html.replace("&#x27;", "'")
    assert "<form" not in html.split("<main", 1)[1]
    data = {**entry_data(title="Mine now", hours="1"), "reason": "Not mine"}
    assert signed_in.post(url, data).status_code == 403
    course_entry.refresh_from_db()
    assert (course_entry.title, course_entry.voided_at) == ("CSPO in Lisbon", None)


def test_the_services_refuse_holders_changes_to_course_hours_but_not_staffs(course_entry):
    message = (
        "Course hours from CSPO in Lisbon were recorded by your trainer's roster; "
        "ask staff to correct them."
    )
    with pytest.raises(ValidationError) as edit:
        entry_edit(entry=course_entry, title="Mine now")
    assert edit.value.messages == [message]
    with pytest.raises(ValidationError) as void:
        entry_void(entry=course_entry, reason="Not mine")
    assert void.value.messages == [message]
    entry_edit(entry=course_entry, hours=Decimal(7), corrected_by_staff=True)
    entry_void(entry=course_entry, reason="Roster corrected", corrected_by_staff=True)
    course_entry.refresh_from_db()
    assert course_entry.hours == Decimal(7)
    assert course_entry.is_voided
