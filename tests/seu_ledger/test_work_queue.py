"""The staff work queue at /staff/: counts and lists of what waits for a decision, each row's
action, the filters, pages and exports, the roles, and what each action leaves behind."""

import csv
import datetime
import io
import re
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from credentials.models import Credential, RosterImport
from credentials.services import credential_claim, credential_issue, licence_accept
from seu_ledger.models import Fee, Reminder
from seu_ledger.services import fee_submit
from tests.factories import UserFactory, learning_entry, program, staff_in

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 6, 3)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(datetime.datetime(2026, 6, 3, 12, tzinfo=datetime.UTC), tick=False):
        yield


def holder(email: str, first_name="Gia"):
    person = UserFactory(email=email, first_name=first_name, last_name="Holder")
    licence_accept(user=person)
    return person


def claim(person, code="CSM", issued_on=datetime.date(2025, 8, 20)):
    return credential_claim(
        holder=person, program=program(code), issued_on=issued_on, certificate_number=f"{code}-1"
    )


def text_of(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


@pytest.fixture
def busy_day():
    """One of each: a claim, a receipt, a CSP-PO in grace, a PMI-ACP suspended, a checked
    roster, a failed reminder."""
    ann = holder("ann@example.com", "Ann")
    credential_issue(holder=ann, program=program("CSPO"), issued_on=datetime.date(2025, 3, 15))
    claimed = claim(ann)
    bob = holder("bob@example.com", "Bob")
    cspo = credential_issue(
        holder=bob, program=program("CSPO"), issued_on=datetime.date(2024, 9, 1)
    )
    fee_submit(credential=cspo, reference="SA-42")
    gia = holder("gia@example.com", "Gia")
    grace = credential_issue(
        holder=gia, program=program("CSP-PO"), issued_on=datetime.date(2024, 5, 14)
    )
    sue = holder("sue@example.com", "Sue")
    credential_issue(holder=sue, program=program("PMI-ACP"), issued_on=datetime.date(2023, 5, 1))
    RosterImport.objects.create(original_name="june.csv", file="rosters/x/june.csv")
    Reminder.objects.create(
        holder=gia,
        term=grace.terms.get(),
        days_before=-20,
        term_ends_on=datetime.date(2026, 5, 14),
        kind=Reminder.Kind.IN_GRACE,
        status=Reminder.Status.FAILED,
        attempts=3,
        last_error="SMTP 451 try later",
        created_at=timezone.now(),
    )
    return {"claim": claimed, "cspo": cspo, "gia": gia}


def test_staff_land_on_the_queue_and_see_what_waits_with_counts(client, busy_day):
    client.force_login(staff_in("registrar"))
    assert client.get("/")["Location"] == reverse("staff:queue")
    page = text_of(client.get(reverse("staff:queue")))
    assert "Claims to verify : 1" in page
    assert "Fee receipts to confirm : 1" in page
    assert "Renewal of CSPO ending 1 Sep 2026 US$100 SA-42" in page
    assert "In grace or suspended : 2" in page
    assert "Roster imports waiting : 1" in page
    assert "Reminder emails that failed : 1" in page
    # Fewest days to lapse first: the CSP-PO's grace ends 12 Aug, the PMI-ACP's suspension
    # on 1 May 2027.
    assert page.index("gia@example.com CSP-PO In grace") < page.index(
        "sue@example.com PMI-ACP Suspended"
    )
    assert "12 Aug 2026 (70 days)" in page


def test_verifying_a_claim_shows_its_impact_then_verifies_it_emails_and_records_who(
    client, busy_day, django_capture_on_commit_callbacks
):
    staff = staff_in("registrar")
    client.force_login(staff)
    claimed = busy_day["claim"]
    confirm = text_of(client.get(reverse("staff:claim_verify", args=[claimed.pk])))
    assert "CSPO renews together with CSM (CSPO + CSM)" in confirm
    assert "Renewal date: 15 Mar 2027 → 20 Aug 2027" in confirm
    claimed.refresh_from_db()
    assert not claimed.verified
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("staff:claim_verify", args=[claimed.pk]))
    assert response.status_code == 302
    claimed.refresh_from_db()
    assert claimed.verified
    assert claimed.history.first().history_user == staff
    [email] = mail.outbox
    assert email.subject == "CSM is verified: your renewal dates changed"


def test_rejecting_a_claim_needs_a_reason_which_the_holder_is_sent(
    client, busy_day, django_capture_on_commit_callbacks
):
    client.force_login(staff_in("registrar"))
    claimed = busy_day["claim"]
    url = reverse("staff:claim_reject", args=[claimed.pk])
    page = text_of(client.post(url, {"reason": "  "}, follow=True))
    assert "not rejected: Reason: say why" in page
    assert Credential.objects.filter(pk=claimed.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"reason": "Scrum Alliance has no CSM under this number."})
    assert not Credential.objects.filter(pk=claimed.pk).exists()
    assert Credential.history.filter(id=claimed.pk, history_type="-").exists()  # audit kept
    [email] = mail.outbox
    assert email.subject == "Your CSM claim could not be verified"
    assert "Why: Scrum Alliance has no CSM under this number." in email.body


def test_confirming_a_receipt_marks_it_paid_and_tells_the_holder(
    client, busy_day, django_capture_on_commit_callbacks
):
    client.force_login(staff_in("registrar"))
    fee = Fee.objects.get(reference="SA-42")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("staff:receipt_confirm", args=[fee.pk]))
    fee.refresh_from_db()
    assert fee.status == Fee.Status.PAID
    assert [m.subject for m in mail.outbox] == ["Your CSPO renewal fee is confirmed"]
    assert "Fee receipts to confirm : 0" in text_of(client.get(reverse("staff:queue")))


def test_a_failed_reminder_can_be_sent_again_now(client, busy_day, monkeypatch):
    from seu_ledger import tasks

    queued = []
    monkeypatch.setattr(tasks.reminders_send_task, "delay", lambda *args: queued.append(args))
    client.force_login(staff_in("registrar"))
    reminder = Reminder.objects.get()
    assert client.post(reverse("staff:reminder_resend", args=[reminder.pk])).status_code == 302
    # No date: the task tells the holder's facts as of their own local date.
    assert queued == [([busy_day["gia"].pk], None)]


def test_viewers_see_the_queue_without_actions_and_cannot_act(client, busy_day):
    client.force_login(staff_in("viewer"))
    html = client.get(reverse("staff:queue")).content.decode()
    assert "Registrars verify" in html
    assert "Reject…" not in html
    claimed, fee = busy_day["claim"], Fee.objects.get(reference="SA-42")
    for url in (
        reverse("staff:claim_verify", args=[claimed.pk]),
        reverse("staff:claim_reject", args=[claimed.pk]),
        reverse("staff:receipt_confirm", args=[fee.pk]),
        reverse("staff:reminder_resend", args=[Reminder.objects.get().pk]),
    ):
        assert client.post(url, {"reason": "x"}).status_code == 403
    claimed.refresh_from_db()
    assert not claimed.verified
    client.force_login(UserFactory())
    assert client.get(reverse("staff:queue")).status_code == 403


def test_filters_pages_and_exports_agree(client, busy_day):
    client.force_login(staff_in("registrar"))
    for index in range(23):
        claim(holder(f"claimer{index:02}@example.com"), code="CSPO")
    page = text_of(client.get(reverse("staff:queue")))
    assert "Claims to verify : 24" in page
    assert "Page 1 of 2" in page
    second = text_of(client.get(reverse("staff:queue"), {"claims_page": 2}))
    assert "claimer22@example.com" in second
    only_csm = text_of(client.get(reverse("staff:queue"), {"program": "CSM"}))
    assert "Claims to verify : 1" in only_csm
    assert "In grace or suspended : 0" in only_csm
    found = text_of(client.get(reverse("staff:queue"), {"q": "claimer07"}))
    assert "Claims to verify : 1" in found
    rows = list(
        csv.reader(
            io.StringIO(
                client.get(
                    reverse("staff:queue_csv", args=["claims"]), {"program": "CSPO"}
                ).content.decode("utf-8-sig")
            )
        )
    )
    assert rows[0][:3] == ["holder", "email", "program"]
    assert len(rows) == 1 + 23
    assert client.get(reverse("staff:queue_xlsx", args=["after_end"])).status_code == 200
    assert client.get(reverse("staff:queue_csv", args=["nothing"])).status_code == 404


def test_the_queue_costs_the_same_queries_with_few_or_many_rows(
    client, busy_day, django_assert_max_num_queries
):
    client.force_login(staff_in("registrar"))
    with django_assert_max_num_queries(30) as few:
        client.get(reverse("staff:queue"))
    for index in range(40):
        person = holder(f"many{index:02}@example.com")
        claim(person, code="CSPO")
        cspo = credential_issue(
            holder=holder(f"fee{index:02}@example.com"),
            program=program("CSPO"),
            issued_on=datetime.date(2024, 9, 1),
        )
        fee_submit(credential=cspo, reference=f"R-{index}")
        credential_issue(
            holder=holder(f"grace{index:02}@example.com"),
            program=program("CSP-PO"),
            issued_on=datetime.date(2024, 5, 20),
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("staff:queue"))


def test_a_verified_claim_leaves_the_queue_and_the_holders_card_changes(client, busy_day):
    """What staff do shows on the holder's side at once."""
    from seu_ledger.selectors import dashboard_cards

    client.force_login(staff_in("registrar"))
    ann = busy_day["claim"].holder
    learning_entry(ann, datetime.date(2025, 10, 1), 8)
    before = {card.group.label for card in dashboard_cards(ann.pk)}
    client.post(reverse("staff:claim_verify", args=[busy_day["claim"].pk]))
    after = {card.group.label for card in dashboard_cards(ann.pk)}
    assert before == {"CSPO", "CSM"}
    assert after == {"CSPO + CSM"}
    assert "Claims to verify : 0" in text_of(client.get(reverse("staff:queue")))
    assert Decimal(8) == next(iter(dashboard_cards(ann.pk))).balance.counted
