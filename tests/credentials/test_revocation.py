"""Staff revoke a credential with a reason: never valid again, no reminders, no renewal, and
its public page says so without the reason."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from credentials.models import Credential
from credentials.selectors import (
    Status,
    credential_is_valid,
    credential_status,
    credentials_in_status,
)
from credentials.services import credential_issue, credential_revoke
from seu_ledger.reminders.selectors import due_terms
from seu_ledger.services import credential_renew, fee_waive
from tests.factories import UserFactory, category, program, staff_in

pytestmark = pytest.mark.django_db


def issued(code="CSPO", on=datetime.date(2025, 1, 10)):
    return credential_issue(holder=UserFactory(), program=program(code), issued_on=on)


def test_a_reason_is_required_and_nothing_changes_without_one():
    credential = issued()
    with pytest.raises(ValidationError) as refused:
        credential_revoke(credential=credential, reason="   ", by=None)
    assert refused.value.message_dict == {
        "reason": ["Reason: say why the credential is revoked; staff read it later."]
    }
    credential.refresh_from_db()
    assert credential.revoked_at is None


@time_machine.travel(datetime.datetime(2025, 6, 1, 12, tzinfo=datetime.UTC), tick=False)
def test_revoked_is_its_status_from_then_on_and_final():
    credential = issued()
    staff = staff_in("registrar")
    credential_revoke(credential=credential, reason="Issued in error", by=staff)
    credential.refresh_from_db()
    assert credential_status(credential) == Status.REVOKED
    assert not credential_is_valid(credential)
    assert list(credentials_in_status(Status.REVOKED)) == [credential]
    assert not credentials_in_status(Status.ACTIVE).exists()
    first = credential.revoked_at
    credential_revoke(credential=credential, reason="Another reason", by=None)
    credential.refresh_from_db()
    assert (credential.revoked_at, credential.revoked_reason, credential.revoked_by) == (
        first,
        "Issued in error",
        staff,
    )


def test_a_revoked_credential_gets_no_reminder_and_cannot_be_renewed():
    on = datetime.date(2026, 12, 12)  # 29 days before CSPO's end
    credential = issued()
    other = issued()
    assert {t.credential_id for t in due_terms(datetime.date(2026, 12, 11))} == {
        credential.pk,
        other.pk,
    }
    credential_revoke(credential=credential, reason="Fraud", by=None)
    assert {t.credential_id for t in due_terms(datetime.date(2026, 12, 11))} == {other.pk}
    from seu_ledger.services import entry_log

    for day in (1, 2, 3):
        entry_log(
            holder=credential.holder,
            activity_date=datetime.date(2026, 11, day),
            category=category("scrum-alliance:learning"),
            title=f"Day {day}",
            hours=Decimal(8),
        )
    fee_waive(credential=credential, recorded_by=UserFactory(), reason="test")
    with pytest.raises(ValidationError) as refused:
        credential_renew(credential=credential, on=on)
    assert refused.value.messages == [
        "CSPO was revoked by staff: a revoked credential cannot be renewed."
    ]
    assert credential.terms.count() == 1


def test_staff_revoke_from_the_admin_with_a_reason(client):
    credential = issued()
    client.force_login(staff_in("registrar"))
    changelist = reverse("admin:credentials_credential_changelist")
    asked = client.post(changelist, {"action": "revoke", "_selected_action": [credential.pk]})
    assert asked.status_code == 200
    assert "Revoking is final" in asked.content.decode()
    refused = client.post(
        changelist,
        {"action": "revoke", "_selected_action": [credential.pk], "apply": "1", "reason": ""},
    )
    assert "Reason: say why the credential is revoked" in refused.content.decode()
    assert not Credential.objects.filter(revoked_at__isnull=False).exists()
    done = client.post(
        changelist,
        {
            "action": "revoke",
            "_selected_action": [credential.pk],
            "apply": "1",
            "reason": "Certificate bought, course never attended",
        },
        follow=True,
    )
    assert "Revoked 1 credential(s)." in done.content.decode()
    credential.refresh_from_db()
    assert credential.revoked_reason == "Certificate bought, course never attended"
    filtered = client.get(changelist, {"status": "revoked"})
    assert filtered.context["cl"].result_count == 1


def test_viewers_cannot_revoke(client):
    credential = issued()
    client.force_login(staff_in("viewer"))
    changelist = reverse("admin:credentials_credential_changelist")
    client.post(
        changelist,
        {"action": "revoke", "_selected_action": [credential.pk], "apply": "1", "reason": "x"},
    )
    credential.refresh_from_db()
    assert credential.revoked_at is None


@time_machine.travel(datetime.datetime(2025, 6, 1, 12, tzinfo=datetime.UTC), tick=False)
def test_the_holders_card_says_revoked_and_offers_no_renewal_or_share(client):
    from credentials.accounts import licence_accept

    credential = issued()
    licence_accept(user=credential.holder)
    credential_revoke(credential=credential, reason="Fraud", by=None)
    client.force_login(credential.holder)
    page = client.get(reverse("ledger:dashboard")).content.decode()
    assert "Revoked" in page
    assert "CSPO was revoked on 1 Jun 2025: it is no longer valid and cannot be renewed." in page
    assert "Log units" not in page
    assert reverse("badges:share", args=[credential.pk]) not in page
    assert "Fraud" not in page
