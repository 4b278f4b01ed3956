"""Status through the published lists: revoke, suspend (PMI), lapse and renew each change
exactly the right bit, at once when staff act and on the day through the daily job."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from badges import bitstring, documents, securing
from badges.models import IssuedBadge
from badges.services import badge_issue, status_refresh
from badges.tasks import daily
from credentials.services import credential_issue, credential_revoke
from seu_ledger.services import credential_renew, entry_log, fee_waive
from tests.factories import UserFactory, category, program

pytestmark = pytest.mark.django_db


def at(day: datetime.date):
    return time_machine.travel(datetime.datetime.combine(day, datetime.time(12)), tick=False)


def set_bits() -> set[tuple[str, int, int]]:
    """Every set bit of every published list, fetched as a verifier fetches them (the URL in
    each credential's status entry) and read after checking the list's signature."""
    found = set()
    lists = set(IssuedBadge.objects.values_list("status_list", flat=True)) or {1}
    for number in lists:
        for purpose in documents.PURPOSES:
            response = Client().get(reverse("badges:status_list", args=[purpose, number]))
            assert response["Content-Type"] == "application/vc+jwt"
            listed = securing.open_signed(response.content.decode()).document
            raw = bitstring.decode(listed["credentialSubject"]["encodedList"])
            found |= {
                (purpose, number, index)
                for index in range(len(raw) * 8)
                if raw[index // 8] and bitstring.bit(raw, index)
            }
    return found


def bit_of(badge, purpose):
    return (purpose, badge.status_list, badge.status_index)


def holder_with(code, issued_on):
    holder = UserFactory()
    return credential_issue(holder=holder, program=program(code), issued_on=issued_on)


def test_staff_revocation_sets_the_revocation_bit_at_once(django_capture_on_commit_callbacks):
    with at(datetime.date(2025, 6, 1)):
        credential = holder_with("CSPO", datetime.date(2025, 1, 10))
        other = badge_issue(holder_with("CSM", datetime.date(2025, 1, 10)).terms.get())
        badge = badge_issue(credential.terms.get())
        assert set_bits() == set()
        with django_capture_on_commit_callbacks(execute=True):
            credential_revoke(credential=credential, reason="Issued in error", by=None)
        assert set_bits() == {bit_of(badge, "revocation")}
        other.refresh_from_db()
        assert (other.revoked, other.suspended) == (False, False)
        # Revoking again changes nothing; neither does the daily job.
        credential_revoke(credential=credential, reason="again", by=None)
        daily()
        assert set_bits() == {bit_of(badge, "revocation")}


def test_pmi_suspension_sets_the_suspension_bit_on_the_day_and_lapse_is_final():
    with at(datetime.date(2025, 6, 1)):
        credential = holder_with("PMI-ACP", datetime.date(2023, 5, 1))  # ends 1 May 2026
        badge = badge_issue(credential.terms.get())
    with at(datetime.date(2026, 5, 1)):  # the last valid day
        daily()
        assert set_bits() == set()
    with at(datetime.date(2026, 5, 2)):  # suspended from the next day
        assert daily()["status_changed"] == 1
        assert set_bits() == {bit_of(badge, "suspension")}
    with at(datetime.date(2027, 5, 1)):  # the suspension's last day
        daily()
        assert set_bits() == {bit_of(badge, "suspension")}
    with at(datetime.date(2027, 5, 2)):  # lapsed: PMI's lapse is final, so revoked
        daily()
        assert set_bits() == {bit_of(badge, "revocation")}


def test_scrum_alliance_lapse_is_a_suspension_a_late_renewal_can_lift():
    with at(datetime.date(2025, 6, 1)):
        credential = holder_with("CSPO", datetime.date(2024, 2, 29))  # ends 28 Feb 2026
        badge = badge_issue(credential.terms.get())
    with at(datetime.date(2026, 2, 28)):
        daily()
        assert set_bits() == set()
    with at(datetime.date(2026, 3, 1)):  # CSPO has no grace period: lapsed the next day
        daily()
        assert set_bits() == {bit_of(badge, "suspension")}


def test_scrum_alliance_grace_that_counts_as_valid_sets_no_bit():
    with at(datetime.date(2025, 6, 1)):
        credential = holder_with("CSP-PO", datetime.date(2024, 12, 31))  # ends 31 Dec 2026
        badge = badge_issue(credential.terms.get())
    assert securing.open_signed(badge.jwt).document["validUntil"] == "2027-03-31T23:59:59Z"
    with at(datetime.date(2027, 3, 31)):  # the 90th day of grace: still valid
        daily()
        assert set_bits() == set()
    with at(datetime.date(2027, 4, 1)):
        daily()
        assert set_bits() == {bit_of(badge, "suspension")}


def log_pmi_units(holder, day):
    for key in ("pmi:ways-of-working", "pmi:power-skills", "pmi:business-acumen"):
        entry_log(
            holder=holder,
            activity_date=day,
            category=category(key),
            title=f"Course in {key}",
            hours=Decimal(10),
        )


def test_renewal_issues_the_new_terms_credential_and_lifts_the_suspension(
    django_capture_on_commit_callbacks,
):
    with at(datetime.date(2025, 6, 1)):
        credential = holder_with("PMI-ACP", datetime.date(2023, 5, 1))
        old = badge_issue(credential.terms.get())
    with at(datetime.date(2026, 6, 1)):  # a month into the suspension
        daily()
        assert set_bits() == {bit_of(old, "suspension")}
        log_pmi_units(credential.holder, datetime.date(2026, 5, 20))
        fee_waive(credential=credential, recorded_by=UserFactory(), reason="test")
        with django_capture_on_commit_callbacks(execute=True):
            credential_renew(credential=credential)
        new = IssuedBadge.objects.exclude(pk=old.pk).get()
        assert new.term.sequence == 2
        document = securing.open_signed(new.jwt).document
        # Renewing late does not move the anniversary: the new term starts at the old end.
        assert document["validFrom"] == "2026-05-01T00:00:00Z"
        assert document["validUntil"] == "2029-05-01T23:59:59Z"
        assert set_bits() == set()  # exactly the one bit cleared, none set for the new term
        daily()
        assert set_bits() == set()


def test_renewing_early_leaves_the_old_terms_credential_valid_to_its_end(
    django_capture_on_commit_callbacks,
):
    with at(datetime.date(2025, 6, 1)):
        credential = holder_with("CSPO", datetime.date(2024, 3, 15))
        old = badge_issue(credential.terms.get())
    with at(datetime.date(2026, 1, 10)):
        for day in (5, 6, 7):
            entry_log(
                holder=credential.holder,
                activity_date=datetime.date(2026, 1, day),
                category=category("scrum-alliance:learning"),
                title=f"Day {day}",
                hours=Decimal(8),
            )
        fee_waive(credential=credential, recorded_by=UserFactory(), reason="test")
        with django_capture_on_commit_callbacks(execute=True):
            credential_renew(credential=credential)
        new = IssuedBadge.objects.exclude(pk=old.pk).get()
        assert securing.open_signed(new.jwt).document["validFrom"] == "2026-03-15T00:00:00Z"
        assert securing.open_signed(old.jwt).document["validUntil"] == "2026-03-15T23:59:59Z"
        assert set_bits() == set()
    with at(datetime.date(2026, 3, 16)):  # the old term ended; it was renewed: no bit
        daily()
        assert set_bits() == set()


def test_the_daily_job_issues_what_bulk_imports_left_without_one():
    with at(datetime.date(2025, 6, 1)):
        holder_with("CSPO", datetime.date(2025, 1, 10))
        unverified = holder_with("CSM", datetime.date(2025, 1, 10))
        unverified.verified = False
        unverified.save()
        assert daily() == {"issued": 1, "status_changed": 0}
        assert daily() == {"issued": 0, "status_changed": 0}


def test_the_refresh_reads_a_bounded_number_of_queries(django_assert_max_num_queries):
    with at(datetime.date(2025, 6, 1)):
        for code in ("CSPO", "CSM", "CSD", "PMI-ACP", "PMP"):
            badge_issue(holder_with(code, datetime.date(2022, 1, 10)).terms.get())
        with django_assert_max_num_queries(6):
            status_refresh()


def test_lists_fill_to_half_then_the_next_list_starts(monkeypatch):
    from badges import services

    monkeypatch.setattr(services, "LIST_FILL", 2)
    with at(datetime.date(2025, 6, 1)):
        badges = [
            badge_issue(holder_with(code, datetime.date(2025, 1, 10)).terms.get())
            for code in ("CSPO", "CSM", "CSD", "PSPO I")
        ]
    lists = [badge.status_list for badge in badges]
    assert lists == sorted(lists)
    assert max(lists.count(number) for number in lists) <= 2  # ids may not start at 1
    assert len(set(lists)) >= 2
    with at(datetime.date(2025, 6, 1)):
        credential_revoke(credential=badges[3].credential, reason="Issued in error", by=None)
        daily()
        assert set_bits() == {bit_of(badges[3], "revocation")}
