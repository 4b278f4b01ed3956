"""The holder's journey at the moments that matter: grace, capped units, course hours, the
transcript of a group, claiming a credential that aligns others, and where staff land.

Each test is one situation a holder met in the browser, checked through the pages (Django's
test client) and the emails they get; the browser walk in tests/browser covers the same
ground in Chromium.
"""

import datetime
import io
import re
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from pypdf import PdfReader

from credentials.models import Credential
from credentials.services import credential_issue, licence_accept
from seu_ledger.selectors import dashboard_cards, next_step
from seu_ledger.services import entry_log, fee_waive
from tests.factories import StaffFactory, UserFactory, category, learning_entry, program, staff_in

pytestmark = pytest.mark.django_db


def at(day: datetime.date):
    return time_machine.travel(datetime.datetime.combine(day, datetime.time(12)), tick=False)


def holder_with(code: str, issued_on: datetime.date, email="holder@example.com"):
    holder = UserFactory(email=email, first_name="Gia")
    licence_accept(user=holder)
    credential = credential_issue(holder=holder, program=program(code), issued_on=issued_on)
    return holder, credential


def text_of(response) -> str:
    """The page's visible text with its whitespace collapsed."""
    html = response.content.decode()
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# --- Grace: a countdown and a step that is true -------------------------------------------


@pytest.mark.parametrize(
    ("issued_on", "ends_on", "today", "days_left", "grace_last"),
    [
        # CSP-PO, 90 days of grace: 20 days in, 70 left.
        ("2024-05-14", "14 May 2026", "2026-06-03", 70, "12 Aug 2026"),
        # Issued on Feb 29: the term ends on Feb 28 two years on; the day after is grace day 1.
        ("2024-02-29", "28 Feb 2026", "2026-03-01", 89, "29 May 2026"),
        # Ended on New Year's Eve, seen on New Year's Day.
        ("2023-12-31", "31 Dec 2025", "2026-01-01", 89, "31 Mar 2026"),
        # The last day of grace: 0 days left, still renewable.
        ("2024-05-14", "14 May 2026", "2026-08-12", 0, "12 Aug 2026"),
    ],
)
def test_a_holder_in_grace_is_told_how_long_is_left_and_to_log_activities_dated_by_the_end(
    client, issued_on, ends_on, today, days_left, grace_last
):
    holder, credential = holder_with("CSP-PO", datetime.date.fromisoformat(issued_on))
    client.force_login(holder)
    with at(datetime.date.fromisoformat(today)):
        page = text_of(client.get(reverse("ledger:dashboard")))
        assert "In grace" in page
        assert f"{days_left} day{'' if days_left == 1 else 's'} left to renew" in page
        assert f"grace period ends {grace_last}" in page
        assert f"the term ended {ends_on}; the grace period ends {grace_last}" in page
        assert f"Log activities dated on or before {ends_on}: only they count" in page
        assert f"Log activities dated by {ends_on}" in page  # the button says the same
        assert "Log units" not in page
        renewal = text_of(client.get(reverse("ledger:renewal", args=[credential.pk])))
        assert f"left to renew : the grace period ends on {grace_last}" in renewal


def test_in_grace_an_activity_dated_before_the_end_counts_and_the_renewal_keeps_the_anniversary(
    client, django_capture_on_commit_callbacks
):
    holder, credential = holder_with("CSP-PO", datetime.date(2024, 5, 14))
    client.force_login(holder)
    with at(datetime.date(2026, 6, 3)):  # 20 days into the grace
        today = learning_entry(holder, datetime.date(2026, 6, 2), 8, title="After the end")
        outcome = text_of(client.get(reverse("ledger:history")))
        assert "CSP-PO: none count; 8 dated after the term ended on 14 May 2026" in outcome
        for day in range(1, 6):
            learning_entry(holder, datetime.date(2026, 5, day), 8, title=f"May {day}")
        with django_capture_on_commit_callbacks(execute=True):
            fee_waive(credential=credential, recorded_by=StaffFactory(), reason="Scholarship")
        [card] = dashboard_cards(holder.pk)
        assert card.balance.counted == 40
        assert card.next_step.kind == "renew"
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("ledger:renew", args=[credential.pk]),
                {"term": credential.terms.get().pk},
                follow=True,
            )
        assert "CSP-PO: new term 14 May 2026 – 14 May 2028" in text_of(response)
        assert today.pk not in set(
            credential.terms.get(sequence=1).renewal.entries.values_list("pk", flat=True)
        )
    subjects = [m.subject for m in mail.outbox]
    assert "Your CSP-PO renewal fee is waived" in subjects
    assert "CSP-PO renewed: your new term runs to 14 May 2028" in subjects


def test_pmi_suspension_counts_units_earned_during_it_and_says_so():
    holder, credential = holder_with("PMI-ACP", datetime.date(2023, 5, 1))
    with at(datetime.date(2026, 6, 1)):  # a month into the one-year suspension
        [card] = dashboard_cards(holder.pk)
        assert card.status_label == "Suspended"
        step = next_step(card.requirements, card.on)
        assert step.kind == "log"  # PDUs earned while suspended count: no date limit
        assert card.grace_days_left == 334
        assert card.grace_ends_on == datetime.date(2027, 5, 1)


# --- Capped units, course hours: every unit accounted for ----------------------------------


def test_capped_units_say_how_many_count_and_why_not_the_rest(client):
    holder, credential = holder_with("CSPO", datetime.date(2025, 1, 10))
    client.force_login(holder)
    with at(datetime.date(2025, 12, 1)):
        learning_entry(holder, datetime.date(2025, 11, 3), 100, title="Marathon")
        learning_entry(holder, datetime.date(2025, 11, 3), 2, title="Same day")
        page = text_of(client.get(reverse("ledger:history")))
        csv = client.get(reverse("ledger:history_csv")).content.decode("utf-8-sig")
        pdf = client.get(
            reverse("ledger:transcript", args=[credential.pk, credential.terms.get().pk])
        )
    assert "CSPO: 8 of 100 count; 92 over the daily cap of 8 SEU a day" in page
    assert "CSPO: none count; 2 over the daily cap of 8 SEU a day" in page
    assert 'counted toward,"not counted, why",recorded by' in csv.splitlines()[0]
    assert "CSPO: 8,CSPO: 92 over the daily cap of 8 SEU a day,you" in csv
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Counted" in text
    assert "Why not all" in text
    assert "92 over the daily cap" in " ".join(text.split())


def test_the_course_that_earned_the_credential_is_explained_not_silently_left_out(client):
    from credentials.services import attendance_record
    from tests.factories import cspo_course

    holder = UserFactory(email="new@example.com")
    licence_accept(user=holder)
    client.force_login(holder)
    with at(datetime.date(2025, 12, 1)):
        attendance_record(
            holder=holder, course=cspo_course("C-1"), hours_attended=Decimal(16), completed=True
        )
        dashboard = text_of(client.get(reverse("ledger:dashboard")))
        history = text_of(client.get(reverse("ledger:history")))
    assert "0 of 20 SEU counted" in dashboard
    assert "The 16 hours of the course that earned CSPO are in your history but do not count" in (
        dashboard
    )
    assert "CSPO: none count; 8 from the course that earned CSPO (course hours never count" in (
        history
    )
    assert "Recorded from your course roster" in history


def test_the_transcript_of_a_group_covers_the_group_and_pmi_has_category_totals(client):
    holder, cspo = holder_with("CSPO", datetime.date(2025, 1, 10))
    credential_issue(holder=holder, program=program("CSM"), issued_on=datetime.date(2025, 3, 1))
    acp = credential_issue(
        holder=holder, program=program("PMI-ACP"), issued_on=datetime.date(2024, 9, 1)
    )
    client.force_login(holder)
    with at(datetime.date(2025, 12, 1)):
        learning_entry(holder, datetime.date(2025, 6, 1), 7)
        entry_log(
            holder=holder,
            activity_date=datetime.date(2025, 6, 2),
            category=category("pmi:power-skills"),
            title="Facilitation",
            hours=Decimal(5),
        )
        renewal = text_of(client.get(reverse("ledger:renewal", args=[cspo.pk])))
        group_pdf = client.get(
            reverse("ledger:transcript", args=[cspo.pk, cspo.terms.get().pk])
        ).content
        pmi_pdf = client.get(
            reverse("ledger:transcript", args=[acp.pk, acp.terms.get().pk])
        ).content

    def text(content):
        return " ".join(
            " ".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages).split()
        )

    assert "PDF transcript of term 1 (CSPO + CSM)" in renewal
    assert "Continuing-education transcript: CSPO + CSM" in text(group_pdf)
    # PMI's Power Skills maps to Scrum Alliance's Learning: both activities count for the group.
    assert "SEU counted: 12 of 30 required" in text(group_pdf)
    pmi = text(pmi_pdf)
    assert "PDU by category" in pmi
    # Scrum Alliance Learning counts as PMI Ways of Working; the skill areas are in Education.
    assert "Education: 12 (at least 18)" in pmi
    assert "Business Acumen: 0 (at least 4)" in pmi
    assert "Power Skills: 5 (at least 4)" in pmi
    assert "Ways of Working: 7 (at least 4)" in pmi
    assert "Working as a Practitioner: 0 (at most 4 count)" in pmi


# --- Claiming a credential that aligns others: impact first -------------------------------


@pytest.fixture
def cspo_holder(client):
    """A CSPO ending 15 Mar 2027 with 15.5 SEU counted, some of them from 2024."""
    holder, cspo = holder_with("CSPO", datetime.date(2025, 3, 15))
    for day, hours in ((datetime.date(2024, 10, 1), 8), (datetime.date(2025, 5, 1), 7.5)):
        learning_entry(holder, day, hours, title=f"Workshop {day:%b %Y}")
    client.force_login(holder)
    return holder, cspo


def test_claiming_a_credential_that_aligns_shows_the_impact_before_anything_changes(
    client, cspo_holder
):
    holder, cspo = cspo_holder
    data = {
        "program": program("CSM").pk,
        "certificate_number": "CSM-1",
        "issued_on": "2025-08-20",
    }
    with at(datetime.date(2025, 12, 1)):
        before = text_of(client.get(reverse("ledger:dashboard")))
        assert "15.5 of 20 SEU counted" in before
        response = client.post(reverse("credentials:claim"), data)
        page = text_of(response)
        assert not Credential.objects.filter(holder=holder, program__code="CSM").exists()
        assert "Before you add it: this changes your other credentials" in page
        assert "CSPO renews together with CSM (CSPO + CSM)" in page
        assert "Renewal date: 15 Mar 2027 → 20 Aug 2027" in page
        assert "SEU required: 20 → 30" in page
        assert "SEU counted: 15.5 → 7.5" in page
        assert "1 Oct 2024 Workshop Oct 2024: 8 → 0 SEU" in page
        assert 'value="Add CSM and accept these changes"' in response.content.decode()
        # Nothing changed by looking.
        assert "15.5 of 20 SEU counted" in text_of(client.get(reverse("ledger:dashboard")))
        token = re.search(r'name="confirm"\s+value="([^"]+)"', response.content.decode()).group(1)
        # A forged confirmation, or the dates changed after the impact was shown: shown again.
        for tampered in (
            {**data, "confirm": "1"},
            {**data, "issued_on": "2025-10-01", "confirm": token},
        ):
            again = client.post(reverse("credentials:claim"), tampered)
            assert again.status_code == 200
            assert "Before you add it" in again.content.decode()
        assert not Credential.objects.filter(holder=holder, program__code="CSM").exists()
        response = client.post(reverse("credentials:claim"), {**data, "confirm": token})
        assert response.status_code == 302
        claimed = Credential.objects.get(holder=holder, program__code="CSM")
        assert not claimed.verified
        dashboard = text_of(client.get(reverse("ledger:dashboard")))
        assert "Unverified claim" in dashboard
        assert "15.5 of 20 SEU counted" in dashboard  # unverified claims align nothing yet


def test_a_claim_that_aligns_nothing_is_added_at_once(client, cspo_holder):
    holder, _ = cspo_holder
    with at(datetime.date(2025, 12, 1)):
        response = client.post(
            reverse("credentials:claim"),
            {"program": program("PMP").pk, "certificate_number": "P-1", "issued_on": "2025-01-02"},
        )
    assert response.status_code == 302
    assert Credential.objects.filter(holder=holder, program__code="PMP").exists()


def test_staff_see_the_impact_before_verifying_and_the_holder_is_told_after(
    client, cspo_holder, django_capture_on_commit_callbacks
):
    from credentials.services import credential_claim

    holder, cspo = cspo_holder
    staff = staff_in("registrar")
    with at(datetime.date(2025, 12, 1)):
        claimed = credential_claim(
            holder=holder,
            program=program("CSM"),
            issued_on=datetime.date(2025, 8, 20),
            certificate_number="CSM-1",
        )
        client.force_login(staff)
        changelist = reverse("admin:credentials_credential_changelist")
        page = text_of(
            client.post(changelist, {"action": "mark_verified", "_selected_action": [claimed.pk]})
        )
        claimed.refresh_from_db()
        assert not claimed.verified
        assert "Renewal date: 15 Mar 2027 → 20 Aug 2027" in page
        assert "Stop counting: 1 Oct 2024 Workshop Oct 2024: 8 → 0 SEU" in page
        with django_capture_on_commit_callbacks(execute=True):
            client.post(
                changelist,
                {"action": "mark_verified", "_selected_action": [claimed.pk], "apply": "1"},
            )
    claimed.refresh_from_db()
    assert claimed.verified
    [email] = mail.outbox
    assert email.to == [holder.email]
    assert email.subject == "CSM is verified: your renewal dates changed"
    assert "Renewal date: 15 Mar 2027 → 20 Aug 2027" in email.body
    assert "1 Oct 2024 Workshop Oct 2024: 8 → 0 SEU" in email.body


# --- Where people land ---------------------------------------------------------------------


def test_staff_land_on_the_staff_dashboard_and_holders_on_theirs(client):
    client.force_login(staff_in("registrar"))
    assert client.get("/")["Location"] == reverse("staff:queue")
    holder, _ = holder_with("CSPO", datetime.date(2025, 1, 10))
    client.force_login(holder)
    assert client.get("/")["Location"] == reverse("ledger:dashboard")


def test_renewing_before_the_units_are_there_shows_what_is_missing_not_a_button(client):
    holder, credential = holder_with("CSPO", datetime.date(2025, 1, 10))
    client.force_login(holder)
    with at(datetime.date(2025, 12, 1)):
        page = text_of(client.get(reverse("ledger:renew", args=[credential.pk])))
    assert "Not ready to renew yet" in page
    assert "20 more SEU needed" in page
    assert "Confirm: renew" not in page


def test_the_grace_link_opens_the_form_on_the_last_day_that_counts(client):
    holder, _ = holder_with("CSP-PO", datetime.date(2024, 5, 14))
    client.force_login(holder)
    with at(datetime.date(2026, 6, 3)):
        page = client.get(reverse("ledger:entry_create") + "?dated_by=2026-05-14")
        html = page.content.decode()
        assert "only activities dated on or before 14 May 2026 count" in text_of(page)
        assert 'value="2026-05-14"' in html
        # A day not in the past, or not a day, is ignored.
        for junk in ("2026-06-03", "2026-13-01", "x"):
            html = client.get(reverse("ledger:entry_create") + f"?dated_by={junk}").content
            assert b"only activities dated on or before" not in html
            assert b'value="2026-06-03"' in html


# --- After review: steps that stay true in the corners --------------------------------------


def test_a_lapsed_credential_never_counts_down_below_zero_and_says_how_a_late_renewal_works(
    client,
):
    holder, credential = holder_with("CSPO", datetime.date(2024, 5, 14))  # no grace
    client.force_login(holder)
    with at(datetime.date(2026, 6, 3)):
        [card] = dashboard_cards(holder.pk)
        page = text_of(client.get(reverse("ledger:dashboard")))
    assert card.next_step.kind == "log_before"
    assert "-" not in card.next_step.text.split("left")[0][-4:]
    assert "It lapsed after 14 May 2026; renewing late keeps its anniversary" in page
    assert "days left" not in page
    assert "US$100, not paid" in page
    assert "due by" not in page


def test_pmi_says_which_skill_areas_are_short():
    holder, credential = holder_with("PMI-ACP", datetime.date(2024, 9, 1))
    with at(datetime.date(2025, 12, 1)):
        for day, key in ((1, "pmi:ways-of-working"), (2, "pmi:power-skills")):
            entry_log(
                holder=holder,
                activity_date=datetime.date(2025, 6, day),
                category=category(key),
                title=key,
                hours=Decimal(12),
            )
        [card] = dashboard_cards(holder.pk)
    assert card.next_step.text == (
        "Log 6 more PDU to renew, of them at least 4 in Business Acumen."
    )


def test_a_grouped_credentials_own_transcript_covers_the_group(client):
    holder, cspo = holder_with("CSPO", datetime.date(2025, 1, 10))
    csm = credential_issue(
        holder=holder, program=program("CSM"), issued_on=datetime.date(2025, 3, 1)
    )
    client.force_login(holder)
    with at(datetime.date(2025, 12, 1)):
        learning_entry(holder, datetime.date(2025, 6, 1), 7)
        pdf = client.get(reverse("ledger:transcript", args=[csm.pk, csm.terms.get().pk])).content
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "Continuing-education transcript: CSPO + CSM" in text
    assert "SEU counted: 7 of 30 required" in text


def test_an_unverified_claim_neither_renews_nor_borrows_the_verified_groups_fee(
    client, django_capture_on_commit_callbacks
):
    from credentials.services import credential_claim
    from seu_ledger.services import credential_renew, fee_record

    holder, csm = holder_with("CSM", datetime.date(2024, 6, 1))
    with at(datetime.date(2025, 12, 1)):
        with django_capture_on_commit_callbacks(execute=True):
            fee_record(credential=csm, recorded_by=StaffFactory(), reference="SA-1")
        claim = credential_claim(
            holder=holder,
            program=program("CSP-SM"),
            issued_on=datetime.date(2024, 8, 1),
            certificate_number="X-1",
        )
        for day in range(1, 6):
            learning_entry(holder, datetime.date(2025, 6, day), 8)
        cards = {card.group.label: card for card in dashboard_cards(holder.pk)}
        assert cards["CSP-SM"].next_step.kind == "wait_verified"
        assert (
            "Waiting for staff to verify CSP-SM with Scrum Alliance"
            in cards["CSP-SM"].next_step.text
        )
        assert cards["CSP-SM"].fee_words.endswith("due by 1 Aug 2026")
        assert cards["CSM"].fee_words == "US$100, paid"
        with pytest.raises(Exception, match="Waiting for staff to verify"):
            credential_renew(credential=claim)
    [email] = mail.outbox
    assert email.subject == "Your CSM renewal fee is confirmed"


def test_a_renewal_receipt_belongs_to_its_own_credential(client):
    from seu_ledger.services import credential_renew

    holder, cspo = holder_with("CSPO", datetime.date(2024, 3, 15))
    acp = credential_issue(
        holder=holder, program=program("PMI-ACP"), issued_on=datetime.date(2024, 9, 1)
    )
    client.force_login(holder)
    with at(datetime.date(2026, 3, 1)):
        for day in range(1, 4):
            learning_entry(holder, datetime.date(2025, 6, day), 8)
        fee_waive(credential=cspo, recorded_by=StaffFactory(), reason="x")
        renewal = credential_renew(credential=cspo).renewals[0]
        assert client.get(reverse("ledger:renewed", args=[cspo.pk, renewal.pk])).status_code == 200
        assert client.get(reverse("ledger:renewed", args=[acp.pk, renewal.pk])).status_code == 404


# --- After a holder's trial ------------------------------------------------------------------


def test_after_an_early_renewal_nothing_asks_for_units_that_cannot_count_yet(client):
    from seu_ledger.services import credential_renew

    holder, cspo = holder_with("CSPO", datetime.date(2025, 1, 10))
    client.force_login(holder)
    with at(datetime.date(2025, 12, 1)):
        for day in range(1, 4):
            learning_entry(holder, datetime.date(2025, 6, day), 8)
        fee_waive(credential=cspo, recorded_by=StaffFactory(), reason="x")
        credential_renew(credential=cspo)
        [card] = dashboard_cards(holder.pk)
        page = text_of(client.get(reverse("ledger:dashboard")))
        renewal = text_of(client.get(reverse("ledger:renewal", args=[cspo.pk])))
    assert card.next_step.kind == "wait_window"
    assert (
        "Renewed until 10 Jan 2029. Activities count toward the next renewal from "
        "10 Jul 2026" in page
    )
    assert "Log units" not in page
    # The new term's page lists only what is inside its window: none of the 2025 activities.
    assert "No activities inside the window yet." in renewal


def test_renewing_very_early_warns_that_activities_before_the_next_window_count_for_neither(
    client,
):
    holder, cspo = holder_with("CSPO", datetime.date(2025, 1, 10))
    client.force_login(holder)
    with at(datetime.date(2025, 12, 1)):
        for day in range(1, 4):
            learning_entry(holder, datetime.date(2025, 6, day), 8)
        fee_waive(credential=cspo, recorded_by=StaffFactory(), reason="x")
        confirm = text_of(client.get(reverse("ledger:renew", args=[cspo.pk])))
    assert (
        "Activities count toward the renewal after it from 10 Jul 2026: what you log before "
        "then counts toward neither." in confirm
    )


def test_an_empty_receipt_reference_is_answered_next_to_its_field(client):
    holder, cspo = holder_with("CSPO", datetime.date(2024, 5, 14))
    client.force_login(holder)
    with at(datetime.date(2025, 12, 1)):
        response = client.post(reverse("ledger:fee_submit", args=[cspo.pk]), {"reference": " "})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Receipt reference: enter the reference from the issuer." in html
    assert 'aria-invalid="true"' in html or "is-invalid" in html
    assert "<details open>" in html


def test_a_group_transcript_names_each_credential_with_its_certificate(client):
    holder, cspo = holder_with("CSPO", datetime.date(2025, 1, 10))
    csm = credential_issue(
        holder=holder, program=program("CSM"), issued_on=datetime.date(2025, 3, 1)
    )
    Credential.objects.filter(pk=csm.pk).update(certificate_number="CSM-777")
    client.force_login(holder)
    with at(datetime.date(2025, 12, 1)):
        pdf = client.get(reverse("ledger:transcript", args=[cspo.pk, cspo.terms.get().pk])).content
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "Renews together CSPO + CSM" in text
    assert "certificate CSM-777; issued 1 Mar 2025" in text
    assert "issued 10 Jan 2025" in text


def test_the_history_filter_offers_the_holders_own_issuers_categories(client):
    holder, _ = holder_with("CSPO", datetime.date(2025, 1, 10))
    client.force_login(holder)
    with at(datetime.date(2025, 12, 1)):
        html = client.get(reverse("ledger:history")).content.decode()
    options = re.findall(
        r"<option[^>]*>([^<]+)</option>", html.split('name="category"')[1].split("</select>")[0]
    )
    assert options[0] == "Any category"
    assert options[1:] == [
        "Scrum Alliance: Events",
        "Scrum Alliance: Learning",
        "Scrum Alliance: Other",
        "Scrum Alliance: Volunteering",
    ]
