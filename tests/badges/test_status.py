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
from credentials.models import Program
from credentials.services import credential_issue, credential_revoke
from seu_ledger.services import credential_renew, entry_log, fee_waive
from tests.factories import UserFactory, category, learning_entry, program

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def issuers_on_utc(db):
    """The status rules on days, their calendar set aside: every issuer's days in UTC here
    (tests/badges/test_issuing.py and the time-zone tests try other zones)."""
    Program.objects.update(time_zone="UTC")


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


def ready_to_renew(credential):
    """24 SEU logged early in January 2026 and the fee waived: a CSPO can renew."""
    for day in (5, 6, 7):
        learning_entry(credential.holder, datetime.date(2026, 1, day), 8, f"Day {day}")
    fee_waive(credential=credential, recorded_by=UserFactory(), reason="test")


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
        ready_to_renew(credential)
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


def test_the_refresh_costs_the_same_queries_for_few_or_many_credentials():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    with at(datetime.date(2025, 6, 1)):
        for many in (3, 30):
            IssuedBadge.objects.all().delete()
            for number in range(many):
                code = ("CSPO", "PMI-ACP", "PMP")[number % 3]
                badge_issue(holder_with(code, datetime.date(2022, 1, 10)).terms.get())
            with CaptureQueriesContext(connection) as captured:
                status_refresh()
            counts.append(len(captured))
    assert counts[0] == counts[1] <= 6


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


def test_a_final_lapse_stays_revoked_when_staff_add_a_term(django_capture_on_commit_callbacks):
    """Revocation is final: a PMI credential revoked by its final lapse keeps its bit when staff
    record a new term (after a re-examination) in the admin."""
    from credentials.models import Term

    with at(datetime.date(2025, 6, 1)):
        credential = holder_with("PMI-ACP", datetime.date(2023, 5, 1))
        old = badge_issue(credential.terms.get())
    with at(datetime.date(2027, 5, 2)):
        daily()
        assert set_bits() == {bit_of(old, "revocation")}
        with django_capture_on_commit_callbacks(execute=True):
            Term.objects.create(
                credential=credential,
                sequence=2,
                starts_on=datetime.date(2027, 5, 2),
                ends_on=datetime.date(2030, 5, 2),
            )
        new = IssuedBadge.objects.exclude(pk=old.pk).get()
        daily()
        assert set_bits() == {bit_of(old, "revocation")}
        assert (new.revoked, new.suspended) == (False, False)


@pytest.mark.parametrize("deleted", ["credential", "term", "holder"])
def test_deleting_keeps_the_credentials_bit_and_revokes_it(deleted):
    """A credential that is gone must not verify again through a cleared bit, nor hand its bit
    to a new one."""
    with at(datetime.date(2025, 6, 1)):
        credential = holder_with("CSPO", datetime.date(2025, 1, 10))
        badge = badge_issue(credential.terms.get())
        if deleted == "credential":
            credential.delete()
        elif deleted == "term":
            credential.terms.get().delete()
        else:
            credential.holder.delete()
        assert set_bits() == {bit_of(badge, "revocation")}
        badge.refresh_from_db()
        assert badge.credential_id is None or deleted == "term"
        daily()
        assert set_bits() == {bit_of(badge, "revocation")}


def test_corrected_term_dates_issue_the_credential_anew(django_capture_on_commit_callbacks):
    with at(datetime.date(2025, 6, 1)):
        credential = holder_with("CSPO", datetime.date(2025, 1, 10))
        old = badge_issue(credential.terms.get())
        term = credential.terms.get()
        term.ends_on = datetime.date(2027, 3, 1)  # staff correct the end date in the admin
        with django_capture_on_commit_callbacks(execute=True):
            term.save()
        old.refresh_from_db()
        assert old.superseded_at is not None
        new = IssuedBadge.objects.get(superseded_at__isnull=True)
        assert securing.open_signed(new.jwt).document["validUntil"].startswith("2027-03-01")
        assert set_bits() == {bit_of(old, "revocation")}
        # Saving the term again with the same dates changes nothing.
        with django_capture_on_commit_callbacks(execute=True):
            term.save()
        assert IssuedBadge.objects.count() == 2


def test_a_deactivated_account_suspends_its_credentials_until_reactivated(
    django_capture_on_commit_callbacks,
):
    from credentials.accounts import user_deactivate, user_reactivate

    with at(datetime.date(2025, 6, 1)):
        credential = holder_with("CSPO", datetime.date(2025, 1, 10))
        badge = badge_issue(credential.terms.get())
        with django_capture_on_commit_callbacks(execute=True):
            user_deactivate(user=credential.holder)
        assert set_bits() == {bit_of(badge, "suspension")}
        with django_capture_on_commit_callbacks(execute=True):
            user_reactivate(user=credential.holder)
        assert set_bits() == set()


def test_the_share_page_after_an_early_renewal_gives_the_running_terms_credential(
    django_capture_on_commit_callbacks,
):
    from badges.services import badge_current

    with at(datetime.date(2026, 1, 10)):
        credential = holder_with("CSPO", datetime.date(2024, 3, 15))
        ready_to_renew(credential)
        credential_renew(credential=credential)
        credential.refresh_from_db()
        running = badge_current(credential)
        assert running.term.sequence == 1
    with at(datetime.date(2026, 3, 15)):  # the old term's last day
        assert badge_current(credential).term.sequence == 1
    with at(datetime.date(2026, 3, 16)):
        assert badge_current(credential).term.sequence == 2


def test_a_holder_cannot_issue_without_end_by_changing_their_did():
    from badges.services import MAX_PER_TERM, NotIssuable, subject_set

    with at(datetime.date(2025, 6, 1)):
        credential = holder_with("CSPO", datetime.date(2025, 1, 10))
        for number in range(MAX_PER_TERM):
            subject_set(holder=credential.holder, did=f"did:key:z{number}")
            badge_issue(credential.terms.get())
        subject_set(holder=credential.holder, did="did:key:zmore")
        with pytest.raises(NotIssuable, match="write to us"):
            badge_issue(credential.terms.get())
    assert IssuedBadge.objects.count() == MAX_PER_TERM


def test_a_served_list_is_cached_until_a_bit_of_it_changes(django_assert_max_num_queries):
    with at(datetime.date(2025, 6, 1)):
        credential = holder_with("CSPO", datetime.date(2025, 1, 10))
        badge = badge_issue(credential.terms.get())
        url = reverse("badges:status_list", args=["revocation", badge.status_list])
        first = Client().get(url).content
        with django_assert_max_num_queries(1):  # the lists in use; the list from the cache
            assert Client().get(url).content == first
        credential_revoke(credential=credential, reason="Issued in error", by=None)
        status_refresh(credential_ids=[credential.pk])
        assert set_bits() == {bit_of(badge, "revocation")}
