"""Merging a holder's duplicate account into the other: everything moves in one transaction,
Scrum Alliance credentials then renew together, a program held twice keeps its earlier issue,
and a refused or failing merge changes nothing."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.contrib.admin.models import LogEntry
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from credentials.accounts import user_deactivate
from credentials.merge import (
    MERGE_ALREADY_MERGED,
    MERGE_INTO_DEACTIVATED,
    MERGE_INTO_MERGED,
    MERGE_ITSELF,
    MERGE_RENEWED_DUPLICATE,
    holders_merge_preview,
)
from credentials.models import (
    Attendance,
    Credential,
    EmailAddress,
    Membership,
    Term,
    User,
)
from credentials.services import attendance_record, credential_issue, holders_merge
from seu_ledger.models import Entry, Fee, Reminder, Renewal
from seu_ledger.selectors import dashboard_cards
from seu_ledger.services import credential_renew, fee_waive
from tests.factories import StaffFactory, UserFactory, cspo_course, learning_entry, program

pytestmark = pytest.mark.django_db

TODAY = datetime.datetime(2026, 3, 1, 12, tzinfo=datetime.UTC)
PREVIEW_QUERIES = 22


@pytest.fixture(autouse=True)
def frozen_day():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def staff():
    return StaffFactory(email="desk@example.com", is_superuser=True)


def two_accounts():
    """Pat under a personal address (older) and a work address (a trainer's roster)."""
    home = UserFactory(email="pat@example.com", first_name="Pat", last_name="Owner")
    work = UserFactory(email="pat.owner@work.example", first_name="Pat", last_name="Owner")
    User.objects.filter(pk=work.pk).update(date_joined=home.date_joined + datetime.timedelta(1))
    work.refresh_from_db()
    return home, work


def snapshot() -> dict:
    """Every row a merge could touch, history and admin log included."""
    models = [
        User,
        EmailAddress,
        Credential,
        Term,
        Attendance,
        Membership,
        Entry,
        Fee,
        Reminder,
        Renewal,
        LogEntry,
        Credential.history.model,
        Term.history.model,
        Entry.history.model,
        Fee.history.model,
    ]
    return {model._meta.label: list(model.objects.order_by("pk").values()) for model in models}


def test_a_cspo_and_a_csm_under_two_addresses_renew_together_once_merged(staff):
    home, work = two_accounts()
    cspo = credential_issue(
        holder=home, program=program("CSPO"), issued_on=datetime.date(2025, 1, 20)
    )
    learning_entry(home, datetime.date(2025, 7, 1), 8)
    learning_entry(home, datetime.date(2025, 7, 2), 8)
    csm = credential_issue(
        holder=work, program=program("CSM"), issued_on=datetime.date(2025, 9, 15)
    )
    learning_entry(work, datetime.date(2025, 10, 1), 6)
    (before,) = dashboard_cards(home.pk)
    assert (before.group.label, before.balance.required) == ("CSPO", Decimal(20))

    preview = holders_merge_preview(survivor=home, merged=work)
    assert preview.allowed
    assert preview.conflicts == []
    moves = dict(preview.moves)
    assert moves["Credentials"] == 1
    assert moves["Activities (ledger entries, with their evidence)"] == 1
    assert preview.renewal_dates == [
        "Scrum Alliance: CSPO + CSM renew together on 15 Sep 2027 (CSPO moved to that date)."
    ]
    version = home.ledger_version

    holders_merge(survivor=home, merged=work, by=staff)

    (card,) = dashboard_cards(home.pk)
    assert card.group.label == "CSPO + CSM"
    assert card.balance.required == Decimal(30)
    assert card.balance.counted == Decimal(22)
    assert {c.pk for c in home.credentials.all()} == {cspo.pk, csm.pk}
    cspo_term = cspo.terms.get()
    assert (cspo_term.ends_on, cspo_term.aligned_from) == (
        datetime.date(2027, 9, 15),
        datetime.date(2027, 1, 20),
    )
    assert dashboard_cards(work.pk) == []
    work.refresh_from_db()
    home.refresh_from_db()
    assert (work.state, work.is_active, work.merged_into) == ("deactivated", False, home)
    assert home.ledger_version != version  # the dashboard page cache is stale
    address = EmailAddress.objects.get(user=home)
    assert (address.address, address.is_confirmed) == (work.email, True)
    # The audit trail: earlier rows stay, the merge says what moved and why.
    assert Credential.history.filter(id=csm.pk, holder_id=work.pk).exists()
    moved = Credential.history.filter(id=csm.pk, holder_id=home.pk).latest("history_date")
    assert moved.history_change_reason == f"Merged {work.email} into {home.email}"
    assert moved.history_user == staff
    log = {entry.object_id: entry.change_message for entry in LogEntry.objects.all()}
    assert log[str(home.pk)].startswith(f"Merged {work.email}")
    assert log[str(work.pk)].startswith(f"Merged into {home.email}")


def test_merging_the_same_pair_again_is_refused_and_changes_nothing(staff):
    home, work = two_accounts()
    credential_issue(holder=work, program=program("CSM"), issued_on=datetime.date(2025, 9, 15))
    learning_entry(work, datetime.date(2025, 10, 1), 6)
    holders_merge(survivor=home, merged=work, by=staff)
    after_first = snapshot()
    for survivor, merged, reason in [
        (home, work, MERGE_ALREADY_MERGED.format(email=work.email, into=home.email)),
        (work, home, MERGE_INTO_MERGED.format(email=work.email, into=home.email)),
        (home, home, MERGE_ITSELF),
    ]:
        with pytest.raises(ValidationError) as refused:
            holders_merge(
                survivor=User.objects.get(pk=survivor.pk),
                merged=User.objects.get(pk=merged.pk),
                by=staff,
            )
        assert reason in refused.value.messages
    assert snapshot() == after_first


def test_merging_into_a_deactivated_account_is_refused(staff):
    home, work = two_accounts()
    user_deactivate(user=home)
    home.refresh_from_db()
    before = snapshot()
    with pytest.raises(ValidationError) as refused:
        holders_merge(survivor=home, merged=work, by=staff)
    assert refused.value.messages == [MERGE_INTO_DEACTIVATED.format(email=home.email)]
    assert snapshot() == before


@pytest.mark.parametrize("earlier", ["survivor", "merged"])
def test_a_program_held_twice_keeps_the_earlier_issue_and_its_terms(staff, earlier):
    home, work = two_accounts()
    first, second = datetime.date(2024, 6, 1), datetime.date(2025, 2, 1)
    home_cspo = credential_issue(
        holder=home, program=program("CSPO"), issued_on=first if earlier == "survivor" else second
    )
    work_cspo = credential_issue(
        holder=work, program=program("CSPO"), issued_on=second if earlier == "survivor" else first
    )
    entry = learning_entry(work, datetime.date(2025, 10, 1), 6)
    kept, dropped = (home_cspo, work_cspo) if earlier == "survivor" else (work_cspo, home_cspo)

    preview = holders_merge_preview(survivor=home, merged=work)
    assert preview.allowed
    assert preview.dropped_credential_ids == (dropped.pk,)
    (conflict,) = preview.conflicts
    assert conflict.startswith("Both accounts hold CSPO: the one issued 1 Jun 2024")
    assert "; the one issued 1 Feb 2025 (on" in conflict
    assert "is removed" in conflict

    holders_merge(survivor=home, merged=work, by=staff)
    (cspo,) = Credential.objects.filter(holder=home)
    assert cspo.pk == kept.pk
    assert cspo.issued_on == first
    assert not Credential.objects.filter(pk=dropped.pk).exists()
    assert Credential.history.filter(id=dropped.pk, history_type="-").exists()
    entry.refresh_from_db()
    assert entry.holder == home  # entries belong to the holder, not the credential


def test_a_program_held_twice_whose_later_issue_was_renewed_refuses_the_merge(client, staff):
    home, work = two_accounts()
    credential_issue(holder=home, program=program("CSPO"), issued_on=datetime.date(2023, 1, 10))
    renewed = credential_issue(
        holder=work, program=program("CSPO"), issued_on=datetime.date(2024, 3, 15)
    )
    for day in range(1, 4):
        learning_entry(work, datetime.date(2025, 6, day), 8)
    fee_waive(credential=renewed, recorded_by=staff, reason="Scholarship")
    credential_renew(credential=renewed, on=datetime.date(2026, 3, 1))
    before = snapshot()

    reason = MERGE_RENEWED_DUPLICATE.format(
        program="CSPO", issued="15 Mar 2024", email="pat.owner@work.example"
    )
    preview = holders_merge_preview(survivor=home, merged=work)
    assert preview.refusals == [reason]
    with pytest.raises(ValidationError) as refused:
        holders_merge(survivor=home, merged=work, by=staff)
    assert refused.value.messages == [reason]
    assert snapshot() == before

    client.force_login(staff)
    page = client.get(merge_url(home, work))
    assert reason in page.content.decode()
    assert "merge-confirm" not in page.content.decode()  # no button to press


def full_pair():
    """Two accounts with something of every kind the merge moves, and a course both
    attended (the same roster hours logged twice)."""
    home, work = two_accounts()
    course = cspo_course("CSPO-2025-11")
    attendance_record(holder=home, course=course, hours_attended=Decimal(16), completed=True)
    attendance_record(holder=work, course=course, hours_attended=Decimal(16), completed=True)
    credential_issue(holder=work, program=program("CSM"), issued_on=datetime.date(2025, 9, 15))
    learning_entry(work, datetime.date(2025, 10, 1), 6)
    learning_entry(home, datetime.date(2025, 10, 2), 3)
    Membership.objects.create(holder=work, issuer=program("PMP").issuer, member_id="123")
    Fee.objects.create(
        holder=work,
        issuer=program("CSM").issuer,
        period_ends_on=datetime.date(2027, 9, 15),
        description="Renewal",
        amount=Decimal(100),
    )
    return home, work


def test_the_same_course_hours_logged_on_both_accounts_count_once(staff):
    home, work = full_pair()
    preview = holders_merge_preview(survivor=home, merged=work)
    same_course, attended, logged = preview.conflicts
    assert same_course.startswith("Both accounts hold CSPO: the one issued 4 Nov 2025 (on pat@")
    assert attended.startswith("Both accounts attended course CSPO-2025-11: one record is kept")
    assert logged.startswith("Course CSPO-2025-11 was logged on both accounts: 2 duplicate days")
    holders_merge(survivor=home, merged=work, by=staff)
    live = Entry.objects.filter(holder=home, source_course__isnull=False, voided_at__isnull=True)
    assert sum(entry.hours for entry in live) == Decimal(16)
    assert Attendance.objects.get().holder == home
    assert not Entry.objects.filter(holder=work).exists()


@pytest.mark.parametrize("fails_at", ["ledger, after the entries moved", "after every row moved"])
def test_a_failure_in_the_middle_of_a_merge_leaves_both_accounts_untouched(
    monkeypatch, staff, fails_at
):
    import credentials.services
    import seu_ledger.merging

    home, work = full_pair()
    address_row = EmailAddress.objects.create(
        user=work, address="pat.other@example.org", confirmed_at=TODAY
    )
    before = snapshot()

    if fails_at.startswith("ledger"):
        record = seu_ledger.merging.history_record

        def failing_record(queryset, **kwargs):
            if queryset.model is Fee:
                raise RuntimeError("the database went away")
            return record(queryset, **kwargs)

        monkeypatch.setattr(seu_ledger.merging, "history_record", failing_record)
    else:

        def failing_align(**kwargs):
            raise RuntimeError("the database went away")

        monkeypatch.setattr(credentials.services, "renewal_dates_align", failing_align)

    with pytest.raises(RuntimeError):
        holders_merge(survivor=home, merged=work, by=staff)
    assert snapshot() == before
    address_row.refresh_from_db()
    assert address_row.user == work


# --- The admin ----------------------------------------------------------------------------


def merge_url(first, second, survivor=None) -> str:
    url = f"{reverse('admin:credentials_user_merge')}?ids={first.pk},{second.pk}"
    return url + (f"&survivor={survivor.pk}" if survivor else "")


def test_staff_merge_two_selected_holders_after_a_preview(client, staff):
    home, work = full_pair()
    client.force_login(staff)
    changelist = reverse("admin:credentials_user_changelist")
    one = client.post(
        changelist, {"action": "merge_holders", "_selected_action": [home.pk]}, follow=True
    )
    assert "Select exactly two holders" in one.content.decode()
    response = client.post(
        changelist, {"action": "merge_holders", "_selected_action": [work.pk, home.pk]}
    )
    assert response.status_code == 302
    page = client.get(response["Location"])
    html = page.content.decode()
    assert f"Keep {home.email}; merge {work.email} into it" in html  # the older by default
    assert "Both accounts attended course CSPO-2025-11" in html
    assert "Scrum Alliance: CSPO + CSM renew together on 4 Nov 2027." in html
    other_way = client.get(merge_url(home, work, survivor=work)).content.decode()
    assert f"Keep {work.email}; merge {home.email} into it" in other_way
    assert User.objects.get(pk=work.pk).merged_into is None  # previews change nothing

    done = client.post(
        reverse("admin:credentials_user_merge"),
        {"ids": f"{home.pk},{work.pk}", "survivor": home.pk, "confirm": "1"},
        follow=True,
    )
    assert f"Merged {work.email} into {home.email}" in done.content.decode()
    assert User.objects.get(pk=work.pk).merged_into == home
    history = client.get(reverse("admin:credentials_user_history", args=[work.pk]))
    assert f"Merged into {home.email}" in history.content.decode()


def test_only_staff_with_the_merge_permission_open_the_merge_page(client):
    from tests.factories import staff_in

    home, work = two_accounts()
    client.force_login(staff_in("registrar"))
    assert client.get(merge_url(home, work)).status_code == 403
    changelist = reverse("admin:credentials_user_changelist")
    refused = client.post(
        changelist, {"action": "merge_holders", "_selected_action": [home.pk, work.pk]}
    )
    assert refused.status_code == 403


def test_the_merge_preview_costs_the_same_queries_for_few_or_many_records(
    client, staff, django_assert_max_num_queries
):
    """Session, staff user, the pair, then a fixed number per kind of record (two for
    credentials and terms, one count or list per table): 20 today, a little room for the
    admin's own."""
    client.force_login(staff)
    home, work = full_pair()
    with django_assert_max_num_queries(PREVIEW_QUERIES), CaptureQueriesContext(connection) as few:
        assert client.get(merge_url(home, work)).status_code == 200
    for day in range(1, 28):
        learning_entry(work, datetime.date(2025, 8, day), 2, title=f"Day {day}")
        learning_entry(home, datetime.date(2025, 9, day), 2, title=f"Day {day}")
    for code in ("CSD", "A-CSPO", "PSPO I"):
        credential_issue(holder=work, program=program(code), issued_on=datetime.date(2025, 9, 1))
    for number in range(5):
        course = cspo_course(
            f"C-{number}",
            start_date=datetime.date(2025, 5, 1 + number * 3),
            end_date=datetime.date(2025, 5, 2 + number * 3),
        )
        attendance_record(holder=work, course=course, hours_attended=Decimal(16), completed=True)
    with django_assert_max_num_queries(PREVIEW_QUERIES), CaptureQueriesContext(connection) as many:
        assert client.get(merge_url(home, work)).status_code == 200
    assert len(many) == len(few)
