"""The activity form (log, edit, void) as a holder meets it, through the real views."""

import datetime
import io
import os
import re
from decimal import Decimal

import pytest
import time_machine
from django.contrib.messages import constants as message_levels
from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.template.loader import render_to_string
from django.urls import reverse

from credentials.services import attendance_record, credential_issue, licence_accept
from seu_ledger.forms import VoidForm
from seu_ledger.models import Category, Entry
from seu_ledger.services import (
    ENTRY_FROM_COURSE,
    EVIDENCE_KEPT_DIR,
    EVIDENCE_KEPT_LOST,
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


# --- 1. Every error at once ------------------------------------------------------------------


def test_an_empty_title_does_not_hide_the_errors_of_the_other_fields(signed_in):
    response = create(signed_in, title="", activity_date="2025-12-02", hours="1.3")
    errors = errors_of(response)
    assert set(errors) == {"title", "activity_date", "hours"}, errors
    assert "steps of 0.25" in errors["hours"][0]
    assert "in the future" in errors["activity_date"][0]
    assert not Entry.objects.exists()


def test_a_wrong_split_shows_with_the_other_errors(client):
    holder = holder_with("PMP", issued_on=datetime.date(2024, 6, 1))
    client.force_login(holder)
    power, ways = category("pmi:power-skills"), category("pmi:ways-of-working")
    data = entry_data(title="", category=ways.pk, hours="8")
    data.update({f"hours_in_{ways.pk}": "3", f"hours_in_{power.pk}": "4"})
    response = client.post(reverse("ledger:entry_create"), data)
    errors = errors_of(response)
    assert "title" in errors
    assert any("add up to 7" in message for message in errors["__all__"]), errors


# --- 2. The error summary --------------------------------------------------------------------


def test_an_error_summary_lists_every_problem_as_a_link_to_its_field(
    signed_in, django_assert_max_num_queries
):
    with django_assert_max_num_queries(11):
        response = create(signed_in, title="", activity_date="2025-12-02", hours="1.3")
    html = response.content.decode()
    summary = re.search(r"<div[^>]*data-error-summary[^>]*>.*?</div>", html, re.S)
    assert summary, html
    box = summary.group(0)
    assert 'role="alert"' in box
    assert 'tabindex="-1"' in box
    assert "There are 3 problems with this activity" in box
    links = re.findall(r'<a class="alert-link" href="#(id_\w+)">([^<]+)</a>', box)
    assert [target for target, _ in links] == ["id_activity_date", "id_title", "id_hours"]
    assert links[1][1] == "Title: This field is required."
    for target, _ in links:
        assert f'id="{target}"' in html  # each link lands on its input
    # Before the form, and focused by a deferred script file: no inline script anywhere.
    assert html.index("data-error-summary") < html.index('name="activity_date"')
    assert '<script src="/static/js/error-summary.js" defer></script>' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    with open(finders.find("js/error-summary.js")) as script:
        assert "summary.focus()" in script.read()


def test_no_error_summary_before_anything_is_sent(signed_in, django_assert_max_num_queries):
    with django_assert_max_num_queries(9):
        html = signed_in.get(reverse("ledger:entry_create")).content.decode()
    assert "data-error-summary" not in html
    assert "error-summary.js" not in html


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


# --- 3. The date ------------------------------------------------------------------------------


def test_the_date_input_goes_up_to_today(signed_in):
    html = signed_in.get(reverse("ledger:entry_create")).content.decode()
    date_input = re.search(r'<input type="date" name="activity_date"[^>]*>', html).group(0)
    assert 'max="2025-12-01"' in date_input
    assert 'min="2015-12-01"' in date_input


@pytest.mark.parametrize(
    ("now", "today", "earliest", "tomorrow", "tomorrow_in_words"),
    [
        (
            datetime.datetime(2028, 2, 29, 12, tzinfo=datetime.UTC),
            "2028-02-29",
            "2018-02-28",
            "2028-03-01",
            "1 Mar 2028",
        ),
        (
            datetime.datetime(2025, 12, 31, 23, 30, tzinfo=datetime.UTC),
            "2025-12-31",
            "2015-12-31",
            "2026-01-01",
            "1 Jan 2026",
        ),
    ],
)
def test_today_is_the_last_date_and_tomorrow_is_refused_naming_the_field_and_the_date(
    signed_in, pat, now, today, earliest, tomorrow, tomorrow_in_words
):
    with time_machine.travel(now, tick=False):
        signed_in.force_login(pat)  # a new session: the first one expired on the way
        html = signed_in.get(reverse("ledger:entry_create")).content.decode()
        assert f'max="{today}"' in html
        assert f'min="{earliest}"' in html
        refused = create(signed_in, activity_date=tomorrow)
        assert errors_of(refused)["activity_date"] == [
            f"Date: {tomorrow_in_words} is in the future. Log an activity once it has taken place."
        ]
        assert create(signed_in, activity_date=today).status_code == 302
        assert create(signed_in, activity_date=earliest, title="Old").status_code == 302
    assert Entry.objects.filter(holder=pat).count() == 2


def test_a_date_over_ten_years_back_is_refused_naming_it(signed_in):
    errors = errors_of(create(signed_in, activity_date="2015-11-30"))
    assert errors["activity_date"][0].startswith("Date: 30 Nov 2015 is more than 10 years")


# --- 4. A chosen evidence file is kept across errors -----------------------------------------


def hidden_token(html: str) -> str:
    match = re.search(r'name="evidence_token" value="([^"]*)"', html)
    return match.group(1) if match else ""


def kept_files(holder) -> list[str]:
    folder = f"{EVIDENCE_KEPT_DIR}/{holder.pk}"
    return default_storage.listdir(folder)[1] if default_storage.exists(folder) else []


def test_a_chosen_evidence_file_is_kept_when_the_form_has_errors_and_used_next_time(signed_in, pat):
    upload = SimpleUploadedFile("certificate.pdf", PDF, content_type="application/pdf")
    response = signed_in.post(
        reverse("ledger:entry_create"), {**entry_data(title=""), "evidence": upload}
    )
    html = response.content.decode()
    assert (
        "Evidence kept: <strong>certificate.pdf</strong> (choose another file to replace it)."
        in html
    )
    token = hidden_token(html)
    assert token
    [kept] = kept_files(pat)
    assert "certificate" not in kept  # the holder's file name is never a path
    # Another error on the next try: the file stays kept.
    again = signed_in.post(
        reverse("ledger:entry_create"), {**entry_data(hours="0"), "evidence_token": token}
    )
    assert "Evidence kept: <strong>certificate.pdf</strong>" in again.content.decode()
    assert hidden_token(again.content.decode()) == token
    response = signed_in.post(
        reverse("ledger:entry_create"), {**entry_data(), "evidence_token": token}
    )
    assert response.status_code == 302
    entry = Entry.objects.get()
    assert entry.evidence.read() == PDF
    assert entry.evidence.name.startswith(f"evidence/{pat.pk}/")
    assert kept_files(pat) == []


def test_a_new_file_replaces_the_kept_one(signed_in, pat):
    first = SimpleUploadedFile("first.pdf", PDF)
    html = signed_in.post(
        reverse("ledger:entry_create"), {**entry_data(title=""), "evidence": first}
    ).content.decode()
    token = hidden_token(html)
    second = SimpleUploadedFile("second.png", PNG)
    html = signed_in.post(
        reverse("ledger:entry_create"),
        {**entry_data(title=""), "evidence": second, "evidence_token": token},
    ).content.decode()
    assert "Evidence kept: <strong>second.png</strong>" in html
    assert len(kept_files(pat)) == 1
    signed_in.post(
        reverse("ledger:entry_create"), {**entry_data(), "evidence_token": hidden_token(html)}
    )
    assert Entry.objects.get().evidence.read() == PNG
    assert kept_files(pat) == []


def test_an_evidence_file_that_fails_its_checks_is_not_kept(signed_in, pat):
    fake = SimpleUploadedFile("receipt.pdf", b"only text")
    html = signed_in.post(
        reverse("ledger:entry_create"), {**entry_data(title=""), "evidence": fake}
    ).content.decode()
    assert "Evidence kept" not in html
    assert hidden_token(html) == ""
    assert kept_files(pat) == []


@pytest.mark.parametrize("damage", ["another holder", "tampered"])
def test_a_token_of_another_holder_or_a_damaged_one_is_not_used(client, signed_in, pat, damage):
    other = holder_with("CSPO")
    client.force_login(other)
    html = client.post(
        reverse("ledger:entry_create"),
        {**entry_data(title=""), "evidence": SimpleUploadedFile("theirs.pdf", PDF)},
    ).content.decode()
    token = hidden_token(html)
    client.force_login(pat)
    if damage == "tampered":
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    response = client.post(
        reverse("ledger:entry_create"), {**entry_data(), "evidence_token": token}
    )
    assert response.status_code == 200
    assert errors_of(response)["evidence"] == [EVIDENCE_KEPT_LOST]
    assert "theirs.pdf" not in response.content.decode()
    assert not Entry.objects.exists()
    assert len(kept_files(other)) == 1  # untouched


def test_kept_files_left_behind_are_swept_after_a_day(signed_in, pat, media):
    for title in ("", ""):
        signed_in.post(
            reverse("ledger:entry_create"),
            {**entry_data(title=title), "evidence": SimpleUploadedFile("a.pdf", PDF)},
        )
    old, fresh = sorted(kept_files(pat))
    stale = (NOW - datetime.timedelta(hours=25)).timestamp()
    os.utime(media / EVIDENCE_KEPT_DIR / str(pat.pk) / old, (stale, stale))
    call_command("evidence_kept_sweep", stdout=io.StringIO())
    assert kept_files(pat) == [fresh]


# --- 5. Hours in the domain's words -----------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ("100000", "Hours: at most 1000 in one activity"),
        ("1000.25", "Hours: at most 1000 in one activity"),
        ("1e400", "Hours: at most 1000 in one activity"),
        ("1.3", "Hours: counted in steps of 0.25"),
        ("0.001", "Hours: counted in steps of 0.25"),
        ("0", "Hours must be more than zero"),
    ],
)
def test_absurd_hours_get_a_message_in_the_domains_words(signed_in, hours, message):
    [error] = errors_of(create(signed_in, hours=hours))["hours"]
    assert error.startswith(message), error
    assert "digits" not in error


def test_the_most_hours_are_accepted_and_the_input_says_its_bounds(signed_in):
    html = signed_in.get(reverse("ledger:entry_create")).content.decode()
    hours_input = re.search(r'<input type="number" name="hours"[^>]*>', html).group(0)
    assert 'max="1000"' in hours_input
    assert 'step="0.25"' in hours_input
    assert create(signed_in, hours="1000").status_code == 302


def test_absurd_hours_in_a_split_get_no_digits_message(client):
    holder = holder_with("PMP", issued_on=datetime.date(2024, 6, 1))
    client.force_login(holder)
    ways = category("pmi:ways-of-working")
    data = {**entry_data(category=ways.pk, hours="8"), f"hours_in_{ways.pk}": "100000"}
    response = client.post(reverse("ledger:entry_create"), data)
    messages = " ".join(m for ms in errors_of(response).values() for m in ms)
    assert "digits" not in messages
    assert "add up to 100000" in messages


# --- 6. Categories of the holder's own issuers -----------------------------------------------


def optgroups(html: str) -> list[str]:
    return re.findall(r'<optgroup label="([^"]+)"', html)


def test_a_cspo_holder_is_offered_scrum_alliance_categories_only(signed_in):
    html = signed_in.get(reverse("ledger:entry_create")).content.decode()
    assert optgroups(html) == ["Scrum Alliance"]
    assert ">Learning</option>" in html
    refused = create(signed_in, category=category("pmi:power-skills").pk)
    assert "Select a valid choice" in errors_of(refused)["category"][0]
    assert not Entry.objects.exists()


@pytest.mark.parametrize(
    ("codes", "groups"),
    [
        (("CSPO", "PMP"), ["PMI", "Scrum Alliance"]),
        (("SAFe POPM",), ["Scaled Agile"]),
        ((), ["PMI", "Scaled Agile", "Scrum Alliance"]),  # none held: every issuer
        (("PSPO I",), ["PMI", "Scaled Agile", "Scrum Alliance"]),  # Scrum.org has no categories
    ],
)
def test_categories_are_grouped_by_the_issuers_of_the_holders_credentials(client, codes, groups):
    client.force_login(holder_with(*codes))
    html = client.get(reverse("ledger:entry_create")).content.decode()
    assert optgroups(html) == groups


def test_editing_keeps_a_category_of_an_issuer_the_holder_no_longer_holds(signed_in, pat):
    safe = Category.objects.get(issuer__code="scaled-agile")
    entry = entry_log(
        holder=pat,
        activity_date=datetime.date(2025, 6, 1),
        category=safe,
        title="PI planning",
        hours=Decimal(4),
    )
    edit = reverse("ledger:entry_edit", args=[entry.pk])
    html = signed_in.get(edit).content.decode()
    assert optgroups(html) == ["Scaled Agile", "Scrum Alliance"]
    assert f'<option value="{safe.pk}" selected>{safe.name}</option>' in html
    response = signed_in.post(edit, entry_data(category=safe.pk, title="PI planning, day 1"))
    assert response.status_code == 302
    entry.refresh_from_db()
    assert (entry.category, entry.title) == (safe, "PI planning, day 1")


# --- 7. The current evidence on the edit page ------------------------------------------------


def test_the_edit_page_shows_the_current_evidence_and_can_remove_it(
    signed_in, pat, django_assert_max_num_queries
):
    signed_in.post(
        reverse("ledger:entry_create"),
        {**entry_data(), "evidence": SimpleUploadedFile("scan.pdf", PDF)},
    )
    entry = Entry.objects.get()
    edit = reverse("ledger:entry_edit", args=[entry.pk])
    with django_assert_max_num_queries(10):
        html = signed_in.get(edit).content.decode()
    link = reverse("ledger:entry_evidence", args=[entry.pk])
    assert f'Current evidence: <a href="{link}">evidence-{entry.pk}.pdf</a>' in html
    assert 'type="checkbox" name="remove_evidence"' in html
    assert signed_in.post(edit, entry_data(title="Kept file")).status_code == 302
    entry.refresh_from_db()
    assert entry.evidence.read() == PDF  # saving without a file keeps the current one
    assert signed_in.post(edit, entry_data(remove_evidence="on")).status_code == 302
    entry.refresh_from_db()
    assert not entry.evidence
    html = signed_in.get(edit).content.decode()
    assert "Current evidence" not in html
    assert "remove_evidence" not in html


def test_a_new_file_on_the_edit_page_replaces_the_current_one(signed_in, pat):
    signed_in.post(
        reverse("ledger:entry_create"),
        {**entry_data(), "evidence": SimpleUploadedFile("scan.pdf", PDF)},
    )
    entry = Entry.objects.get()
    signed_in.post(
        reverse("ledger:entry_edit", args=[entry.pk]),
        {**entry_data(), "evidence": SimpleUploadedFile("photo.png", PNG)},
    )
    entry.refresh_from_db()
    assert entry.evidence.read() == PNG


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


# --- 9. What counts, said after saving --------------------------------------------------------


def messages_of(response) -> list[tuple[int, str]]:
    return [(m.level, str(m)) for m in response.context["messages"]]


def test_the_saved_message_says_what_counts_under_the_daily_cap(signed_in):
    response = signed_in.post(reverse("ledger:entry_create"), entry_data(hours="10"), follow=True)
    assert messages_of(response) == [
        (
            message_levels.SUCCESS,
            "Logged “Sprint review workshop”: 8 of 10 hours count toward CSPO; 2 do not "
            "(over the daily cap of 8 SEU a day).",
        )
    ]
    second = signed_in.post(
        reverse("ledger:entry_create"), entry_data(hours="4", title="Retro"), follow=True
    )
    assert messages_of(second) == [
        (
            message_levels.WARNING,
            "Logged “Retro”: none of its 4 hours count toward CSPO "
            "(over the daily cap of 8 SEU a day).",
        )
    ]
    third = signed_in.post(
        reverse("ledger:entry_create"), entry_data(hours="1", title="Chat"), follow=True
    )
    assert messages_of(third)[0][1] == (
        "Logged “Chat”: its 1 hour does not count toward CSPO (over the daily cap of 8 SEU a day)."
    )


def test_the_saved_message_has_one_sentence_per_renewal(client):
    holder = holder_with("CSPO", "PMP")
    client.force_login(holder)
    response = client.post(reverse("ledger:entry_create"), entry_data(hours="9"), follow=True)
    [(level, text)] = messages_of(response)
    assert level == message_levels.SUCCESS
    assert text == (
        "Logged “Sprint review workshop”: all 9 hours count toward PMP. 8 of 9 hours count "
        "toward CSPO; 1 does not (over the daily cap of 8 SEU a day)."
    )


def test_the_saved_message_after_an_edit_says_what_counts_now(signed_in, pat):
    entry = entry_log(
        holder=pat,
        activity_date=datetime.date(2025, 6, 1),
        category=category("scrum-alliance:learning"),
        title="Talk",
        hours=Decimal(1),
    )
    response = signed_in.post(
        reverse("ledger:entry_edit", args=[entry.pk]), entry_data(title="Talk"), follow=True
    )
    assert messages_of(response) == [
        (message_levels.SUCCESS, "Saved “Talk”: all 6 hours count toward CSPO.")
    ]


def test_the_form_says_the_daily_cap_before_saving(signed_in, client):
    html = signed_in.get(reverse("ledger:entry_create")).content.decode()
    assert "Scrum Alliance counts at most 8 SEU a day." in html
    client.force_login(holder_with("PMP"))
    assert "a day." not in client.get(reverse("ledger:entry_create")).content.decode()
