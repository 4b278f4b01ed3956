"""Staff screens: every model's list and form open, filters and computed columns work."""

import datetime
from decimal import Decimal
from html.parser import HTMLParser

import pytest
import time_machine
from django.urls import reverse

from credentials.services import credential_issue
from seu_ledger.reminders.schedule import reminder_points
from seu_ledger.selectors import renewal_requirements
from seu_ledger.services import entry_log
from tests.factories import UserFactory, category, program

pytestmark = pytest.mark.django_db

MODELS = [
    "credentials/user",
    "credentials/issuer",
    "credentials/program",
    "credentials/membership",
    "credentials/course",
    "credentials/attendance",
    "credentials/credential",
    "credentials/term",
    "seu_ledger/category",
    "seu_ledger/categorymapping",
    "seu_ledger/ruleversion",
    "seu_ledger/entry",
    "seu_ledger/fee",
    "seu_ledger/renewal",
]


@pytest.fixture
def holdings():
    with time_machine.travel(datetime.datetime(2026, 1, 10, 12, tzinfo=datetime.UTC), tick=False):
        holder = UserFactory(email="pat@example.com")
        expiring = credential_issue(
            holder=holder, program=program("CSM"), issued_on=datetime.date(2024, 2, 1)
        )
        active = credential_issue(
            holder=UserFactory(), program=program("PMI-ACP"), issued_on=datetime.date(2025, 6, 1)
        )
        entry_log(
            holder=holder,
            activity_date=datetime.date(2025, 5, 1),
            category=category("scrum-alliance:learning"),
            title="Story mapping course",
            hours=Decimal(6),
        )
        yield {"expiring": expiring, "active": active, "holder": holder}


@pytest.mark.parametrize("model", MODELS)
def test_every_admin_list_and_add_page_opens(admin_client, holdings, model):
    assert admin_client.get(f"/admin/{model}/").status_code == 200
    if model != "seu_ledger/renewal":
        assert admin_client.get(f"/admin/{model}/add/").status_code == 200


def test_holder_page_shows_credentials_and_entries_inline(admin_client, holdings):
    html = admin_client.get(
        reverse("admin:credentials_user_change", args=[holdings["holder"].pk])
    ).content.decode()
    assert "CSM" in html
    assert "Story mapping course" in html


def test_inline_rows_name_each_field_for_screen_readers(admin_client, holdings):
    """Tabular inlines label a column once, in the header: each field carries it too."""
    credential = holdings["expiring"]
    html = admin_client.get(
        reverse("admin:credentials_credential_change", args=[credential.pk])
    ).content.decode()
    assert 'aria-label="Starts on"' in html
    assert 'aria-label="Ends on"' in html
    html = admin_client.get(
        reverse("admin:credentials_program_change", args=[credential.program.pk])
    ).content.decode()
    assert 'aria-label="Delete"' in html


def test_credential_list_shows_status_and_units(admin_client, holdings):
    with time_machine.travel(datetime.datetime(2026, 1, 10, 12, tzinfo=datetime.UTC), tick=False):
        html = admin_client.get("/admin/credentials/credential/").content.decode()
    assert "Expiring" in html
    assert "Active" in html
    assert "6 / 20" in html  # units counted / required for the CSM
    assert "14" in html  # units missing


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=expiring", {"CSM"}),
        ("status=active", {"PMI-ACP"}),
        ("status=lapsed", set()),
        ("expiring_within=30", {"CSM"}),
        ("expiring_within=90", {"CSM"}),
    ],
)
def test_credential_filters(admin_client, holdings, query, expected):
    with time_machine.travel(datetime.datetime(2026, 1, 10, 12, tzinfo=datetime.UTC), tick=False):
        response = admin_client.get(f"/admin/credentials/credential/?{query}")
    shown = {c.program.code for c in response.context["cl"].result_list}
    assert shown == expected


def test_adding_a_credential_in_the_admin_issues_it_with_its_first_term(admin_client):
    holder = UserFactory()
    response = admin_client.post(
        "/admin/credentials/credential/add/",
        {"holder": holder.pk, "program": program("CSPO").pk, "issued_on": "2025-02-01"},
    )
    assert response.status_code == 302
    credential = holder.credentials.get()
    assert [(t.starts_on, t.ends_on) for t in credential.terms.all()] == [
        (datetime.date(2025, 2, 1), datetime.date(2027, 2, 1))
    ]


def test_entries_and_renewals_cannot_be_deleted_from_the_admin(admin_client, holdings):
    entry = holdings["holder"].entries.get()
    assert admin_client.get(f"/admin/seu_ledger/entry/{entry.pk}/delete/").status_code == 403


def test_staff_add_a_program_in_the_admin_and_it_works_with_no_code_change(admin_client):
    issuer = program("CSPO").issuer
    response = admin_client.post(
        "/admin/credentials/program/add/",
        {
            "issuer": issuer.pk,
            "code": "CPO",
            "name": "Certified Product Owner (staff-defined)",
            "track": "PO",
            "level": 1,
            "is_active": "on",
            "validity_months": 36,
            "time_zone": "Europe/Amsterdam",
            "grace_days": 30,
            "reminder_horizon_days": 60,
            "reminder_days_before": "60, 14",
            "grace_reminder_every_days": 10,
            "after_end_name": "grace period",
            "after_end_status": "In grace",
            "valid_after_end": "on",
            "unit_name": "hours",
            "fee_required": "on",
            "fee_amount": "80",
            "member_fee_amount": "",
            "currency": "EUR",
            "min_course_hours": "",
            # Its renewal rules, from a date: one version.
            "rule_versions-TOTAL_FORMS": "1",
            "rule_versions-INITIAL_FORMS": "0",
            "rule_versions-0-effective_from": "2020-01-01",
            "rule_versions-0-units_required": "12",
            "rule_versions-0-lookback_months": "36",
            "rule_versions-0-daily_unit_cap": "",
            "rule_versions-0-combined_addon_units": "0",
            "rule_versions-0-carry_over_max": "",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    with time_machine.travel(datetime.datetime(2026, 1, 10, 12, tzinfo=datetime.UTC), tick=False):
        holder = UserFactory()
        credential = credential_issue(
            holder=holder, program=program("CPO"), issued_on=datetime.date(2024, 2, 29)
        )
        requirements = renewal_requirements(credential)
    assert credential.terms.get().ends_on == datetime.date(2027, 2, 28)
    assert requirements.balance.required == Decimal(12)
    assert "fee of €80" in requirements.reasons["fee"][0]
    assert reminder_points(program("CPO")) == (60, 14, 0, -10, -20, -30, -31)


def test_a_reminder_schedule_that_is_not_days_is_refused_naming_the_field(admin_client):
    cspo = program("CSPO")
    page = admin_client.get(f"/admin/credentials/program/{cspo.pk}/change/")
    data = {
        key: value
        for key, value in page.context["adminform"].form.initial.items()
        if value is not None and not isinstance(value, list)
    }
    data.update(issuer=cspo.issuer_id, reminder_days_before="90, soon")
    response = admin_client.post(f"/admin/credentials/program/{cspo.pk}/change/", data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "whole numbers of days" in errors["reminder_days_before"][0]
    assert program("CSPO").reminder_days_before == "90,60,30,7"


def test_adding_a_credential_keeps_its_fields_and_refuses_a_future_date(admin_client):
    holder = UserFactory()
    response = admin_client.post(
        "/admin/credentials/credential/add/",
        {"holder": holder.pk, "program": program("CSM").pk, "issued_on": "2099-01-01"},
    )
    assert response.status_code == 200
    assert "cannot be issued on a future date" in response.content.decode()
    response = admin_client.post(
        "/admin/credentials/credential/add/",
        {
            "holder": holder.pk,
            "program": program("CSM").pk,
            "issued_on": "2025-01-01",
            "certificate_number": "CERT-123",
        },
    )
    assert response.status_code == 302
    credential = holder.credentials.get()
    assert (credential.certificate_number, credential.verified) == ("CERT-123", False)


def test_staff_send_an_invitation_from_the_admin(admin_client):
    from django.core import mail

    from credentials.models import User

    invitee = User.objects.create_user("late@example.com")
    response = admin_client.post(
        "/admin/credentials/user/",
        {"action": "send_invitation", "_selected_action": [invitee.pk]},
        follow=True,
    )
    assert "Sent 1 invitation(s)." in response.content.decode()
    assert mail.outbox[-1].to == ["late@example.com"]
    invitee.refresh_from_db()
    assert invitee.invited_at is not None


def test_inviting_a_holder_a_worker_is_inviting_right_now_says_so_and_sends_nothing(
    admin_client,
):
    from django.core import mail
    from django.utils import timezone

    from credentials.models import Invitation, User

    invitee = User.objects.create_user("busy@example.com")
    Invitation.objects.create(holder=invitee, claim_token="worker", claimed_at=timezone.now())
    response = admin_client.post(
        "/admin/credentials/user/",
        {"action": "send_invitation", "_selected_action": [invitee.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert "An invitation to busy@example.com is being sent right now." in page
    assert "Sent 0 invitation(s)." in page
    assert mail.outbox == []
    # Staff see every invitation owed, and what the mail server last said.
    listing = admin_client.get("/admin/credentials/invitation/").content.decode()
    assert "busy@example.com" in listing


class _Frames(HTMLParser):
    """The attributes of each <iframe> of a page, as a browser reads them (unescaped)."""

    def __init__(self):
        super().__init__()
        self.frames: list[dict[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "iframe":
            self.frames.append(dict(attrs))


def test_the_reminder_preview_frames_the_whole_email_html_escaped_and_sandboxed(admin_client):
    holder = UserFactory(email="pat@example.com", first_name="Patricia", last_name="Owner")
    with time_machine.travel(datetime.datetime(2026, 6, 1, 12, tzinfo=datetime.UTC), tick=False):
        credential_issue(
            holder=holder, program=program("CSPO"), issued_on=datetime.date(2024, 7, 1)
        )
        page = admin_client.get(
            reverse("admin:seu_ledger_reminder_preview"), {"holder": "pat@example.com"}
        )
    assert page.status_code == 200
    parser = _Frames()
    parser.feed(page.content.decode())
    [frame] = parser.frames
    email = frame["srcdoc"]
    assert email.lstrip().startswith("<!doctype html>")
    assert "Hello Patricia," in email
    assert email.rstrip().endswith("</html>")
    assert 'href="http://testserver/' in email  # the links back to the site, whole
    assert "Stop the optional reminders" in email
    assert frame["sandbox"] == ""  # no scripts, forms or same-origin access for the email
    assert frame["title"]


def test_the_reminder_previews_text_part_is_escaped_and_in_the_holders_language(admin_client):
    """A holder's text in the plain-text part (a first name that is markup: a meta refresh
    sent staff's browser to another site) is shown as text; and the preview is the email the
    worker sends, in the holder's language, not the staff member's."""
    holder = UserFactory(
        email="pat@example.com",
        first_name='<meta http-equiv="refresh" content="0;url=//203.0.113.7/">',
        language="de",
    )
    with time_machine.travel(datetime.datetime(2026, 6, 1, 12, tzinfo=datetime.UTC), tick=False):
        credential_issue(
            holder=holder, program=program("CSPO"), issued_on=datetime.date(2024, 7, 1)
        )
        page = admin_client.get(
            reverse("admin:seu_ledger_reminder_preview"), {"holder": "pat@example.com"}
        )
    html = page.content.decode()
    assert '<meta http-equiv="refresh"' not in html
    assert "&lt;meta http-equiv=&quot;refresh&quot;" in html
    assert "Hallo" in html  # the holder's German, though staff read English
