"""Hostile and absurd input: each gets a clear message naming the field or row, and nothing is
stored. Markup typed by anyone is shown as text in pages, emails, PDFs and CSV files."""

import datetime
import io
import zipfile

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from credentials.models import Course, RosterImport, Term
from credentials.roster.imports import roster_check
from credentials.services import credential_issue, licence_accept
from seu_ledger.models import Entry
from seu_ledger.reminders.services import reminders_record, reminders_send_to_holder
from seu_ledger.services import ENTRY_IN_FUTURE, ENTRY_TOO_OLD
from tests.credentials.test_roster import csv_bytes
from tests.factories import StaffFactory, UserFactory, category, learning_entry, program

pytestmark = pytest.mark.django_db

SCRIPT = '<script>alert("x")</script>'
IMAGE = "<img src=x onerror=alert(1)>"


@pytest.fixture
def hostile(client):
    """A holder whose name and activity title are markup, signed in."""
    holder = UserFactory(email="eve@example.com", first_name=SCRIPT, last_name=IMAGE)
    licence_accept(user=holder)
    credential = credential_issue(
        holder=holder, program=program("CSPO"), issued_on=datetime.date(2024, 12, 20)
    )
    learning_entry(holder, datetime.date(2025, 6, 1), "2", title=f"=HYPERLINK(1) {SCRIPT}")
    client.force_login(holder)
    return holder, credential


def entry_form(**overrides):
    return {
        "activity_date": "2025-06-01",
        "category": category("scrum-alliance:learning").pk,
        "title": "Workshop",
        "provider": "",
        "hours": "2",
        "description": "",
        **overrides,
    }


def test_markup_in_names_and_titles_is_text_in_every_page(client, hostile):
    holder, credential = hostile
    pages = [
        reverse("ledger:dashboard"),
        reverse("ledger:history"),
        reverse("ledger:renewal", args=[credential.pk]),
        reverse("credentials:verify", args=[credential.verification_code]),
    ]
    for url in pages:
        html = client.get(url).content.decode()
        assert SCRIPT not in html, url
        assert IMAGE not in html, url
    history = client.get(reverse("ledger:history")).content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in history
    client.force_login(StaffFactory(is_superuser=True))
    for url in (
        reverse("staff:dashboard"),
        reverse("admin:credentials_user_changelist"),
        reverse("admin:seu_ledger_entry_changelist"),
    ):
        html = client.get(url).content.decode()
        assert SCRIPT not in html, url
        assert IMAGE not in html, url


def test_markup_is_text_in_the_csv_the_pdf_and_the_email(client, hostile, settings):
    holder, credential = hostile
    rows = client.get(reverse("ledger:history_csv")).content.decode()
    assert "'=HYPERLINK(1)" in rows  # a spreadsheet shows it, never runs it
    term = credential.terms.get()
    pdf = client.get(reverse("ledger:transcript", args=[credential.pk, term.pk]))
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    Term.objects.filter(pk=term.pk).update(ends_on=datetime.date(2026, 1, 1))
    on = datetime.date(2025, 12, 2)
    reminders_record(on=on)
    reminders_send_to_holder(holder_id=holder.pk, on=on)
    [message] = mail.outbox
    html = message.alternatives[0][0]
    assert SCRIPT not in html
    assert "Hello &lt;script&gt;" in html


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title": "x" * 10_000}, "title", "at most 200 characters"),
        ({"provider": "p" * 5_000}, "provider", "at most 200 characters"),
        (
            {"activity_date": "9999-12-31"},
            "activity_date",
            ENTRY_IN_FUTURE.format(date="31 Dec 9999"),
        ),
        (
            {"activity_date": "1900-01-01"},
            "activity_date",
            ENTRY_TOO_OLD.format(date="1 Jan 1900"),
        ),
        (
            {"activity_date": "0001-01-01"},
            "activity_date",
            ENTRY_TOO_OLD.format(date="1 Jan 0001"),
        ),
        ({"activity_date": "2025-02-30"}, "activity_date", "Enter a valid date"),
        ({"hours": "-3"}, "hours", "more than zero"),
        ({"hours": "1000000000"}, "hours", "Hours: at most 1000 in one activity"),
        ({"hours": "NaN"}, "hours", "Enter a number"),
        ({"hours": "Infinity"}, "hours", "Enter a number"),
        ({"hours": "1e400"}, "hours", "Hours: at most 1000 in one activity"),
        ({"hours": "-1e400"}, "hours", "more than zero"),
    ],
)
def test_absurd_activity_input_is_refused_naming_the_field(
    client, hostile, changes, field, message
):
    before = Entry.objects.count()
    response = client.post(reverse("ledger:entry_create"), entry_form(**changes))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert Entry.objects.count() == before


def test_an_oversized_evidence_file_is_refused_and_nothing_is_stored(client, hostile):
    big = SimpleUploadedFile("huge.pdf", b"%PDF-1.4\n" + b"0" * (11 * 2**20))
    before = Entry.objects.count()
    response = client.post(reverse("ledger:entry_create"), {**entry_form(), "evidence": big})
    assert "at most 10 MB" in " ".join(response.context["form"].errors["evidence"])
    assert Entry.objects.count() == before


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        ("a@example.com,A,B,C-1,CSPO,1900-01-01,1900-01-02,16,yes", "start_date", "plausible"),
        ("a@example.com,A,B,C-1,CSPO,2025-03-03,9999-12-31,16,yes", "end_date", "plausible"),
        ("a@example.com,A,B,C-1,CSPO,2025-03-03,2025-03-04,-16,yes", "hours_attended", "negative"),
        ("a@example.com,A,B,C-1,CSPO,2025-03-03,2025-03-04,1e9,yes", "hours_attended", "1000"),
        ("a@example.com,A,B,C-1,CSPO,2025-03-03,2025-03-04,nan,yes", "hours_attended", "Hours"),
        (f"a@example.com,{'A' * 300},B,C-1,CSPO,2025-03-03,2025-03-04,16,yes", "first_name", "150"),
    ],
)
def test_absurd_roster_rows_are_refused_naming_line_and_column(row, column, message):
    report = roster_check(csv_bytes(row))
    named = [error for error in report.errors if (error.line, error.column) == (2, column)]
    assert named, report.errors
    assert message in named[0].message
    assert not Course.objects.exists()


def test_a_roster_upload_over_the_limit_or_a_zip_bomb_is_refused_with_a_message(
    admin_client, settings
):
    settings.ROSTER_MAX_BYTES = 1000
    big = SimpleUploadedFile("big.csv", csv_bytes(*[f"x{n}@e.com,A,B,C,CSPO" for n in range(200)]))
    response = admin_client.post(reverse("roster:upload"), {"file": big})
    assert "the limit is" in response.content.decode()
    settings.ROSTER_MAX_BYTES = 20 * 2**20
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", "<a>" + "0" * (300 * 2**20) + "</a>")
    upload = SimpleUploadedFile("bomb.xlsx", bomb.getvalue())
    assert len(bomb.getvalue()) < 2 * 2**20
    response = admin_client.post(reverse("roster:upload"), {"file": upload}, follow=True)
    assert response.status_code == 200
    assert "expand" in response.content.decode()
    assert set(RosterImport.objects.values_list("status", flat=True)) <= {
        RosterImport.Status.REJECTED
    }
    assert not Course.objects.exists()
