"""Ledger writes: entries, fees, renewal as one transaction, course completion."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from credentials.models import Attendance, Credential
from credentials.selectors import renewal_group
from credentials.services import attendance_record, credential_issue
from seu_ledger.models import Entry, Fee, Renewal
from seu_ledger.selectors import entries_of, group_balance, renewal_requirements
from seu_ledger.services import (
    ENTRY_IN_FUTURE,
    ENTRY_NOT_POSITIVE,
    ENTRY_NOT_QUARTERS,
    REFERENCE_REQUIRED,
    VOID_REASON_REQUIRED,
    WAIVE_REASON_REQUIRED,
    credential_renew,
    entry_edit,
    entry_log,
    entry_void,
    fee_record,
    fee_submit,
    fee_waive,
)
from tests.factories import StaffFactory, UserFactory, category, cspo_course, program

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2025, 12, 1)


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel(datetime.datetime(2025, 12, 1, 12, tzinfo=datetime.UTC), tick=False):
        yield


@pytest.fixture
def cspo_holder():
    holder = UserFactory()
    credential = credential_issue(
        holder=holder, program=program("CSPO"), issued_on=datetime.date(2024, 3, 15)
    )
    return holder, credential


def log(holder, day, hours, cat="scrum-alliance:learning", **extra):
    return entry_log(
        holder=holder,
        activity_date=day,
        category=category(cat),
        title=extra.pop("title", "Workshop"),
        hours=Decimal(hours),
        **extra,
    )


def log_twenty(holder):
    for offset in range(3):
        log(holder, datetime.date(2025, 6, 1 + offset), "8" if offset < 2 else "4")


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"activity_date": TODAY + datetime.timedelta(days=1)},
            "activity_date",
            ENTRY_IN_FUTURE.format(date="2 Dec 2025"),
        ),
        ({"hours": Decimal("0")}, "hours", ENTRY_NOT_POSITIVE),
        ({"hours": Decimal("-2")}, "hours", ENTRY_NOT_POSITIVE),
        ({"hours": Decimal("1.3")}, "hours", ENTRY_NOT_QUARTERS.format(hours="1.3")),
        ({"hours": Decimal("0.1")}, "hours", ENTRY_NOT_QUARTERS.format(hours="0.1")),
        ({"hours": Decimal("1000.25")}, "hours", "Hours: at most 1000 in one activity"),
        ({"title": ""}, "title", "cannot be blank"),
        ({"title": "x" * 201}, "title", "at most 200 characters"),
    ],
)
def test_entry_log_refuses_bad_input_naming_the_field_and_stores_nothing(changes, field, message):
    holder = UserFactory()
    values = {
        "holder": holder,
        "activity_date": datetime.date(2025, 6, 1),
        "category": category("scrum-alliance:learning"),
        "title": "Workshop",
        "hours": Decimal("2"),
        **changes,
    }
    with pytest.raises(ValidationError) as excinfo:
        entry_log(**values)
    errors = excinfo.value.message_dict
    assert any(str(message) in m for m in errors[field]), errors  # str: a lazy translation
    assert list(errors) == [field], "one clear message, next to its field"
    assert not Entry.objects.exists()


def test_entry_log_accepts_today_and_quarter_hours():
    holder = UserFactory()
    entry = log(holder, TODAY, "0.25")
    assert entry.pk
    assert entry.hours == Decimal("0.25")


def test_entry_edit_changes_a_live_entry_and_validates():
    holder = UserFactory()
    entry = log(holder, datetime.date(2025, 6, 1), "2")
    entry_edit(entry=entry, hours=Decimal("3.5"), title="Longer workshop")
    entry.refresh_from_db()
    assert (entry.hours, entry.title) == (Decimal("3.5"), "Longer workshop")
    with pytest.raises(ValidationError) as excinfo:
        entry_edit(entry=entry, hours=Decimal("3.1"))
    assert "hours" in excinfo.value.message_dict
    entry.refresh_from_db()
    assert entry.hours == Decimal("3.5")


def test_entry_edit_refuses_unknown_fields():
    entry = log(UserFactory(), datetime.date(2025, 6, 1), "2")
    with pytest.raises(TypeError, match="holder"):
        entry_edit(entry=entry, holder=UserFactory())


def test_entry_void_needs_a_reason_and_keeps_the_entry_visible():
    holder = UserFactory()
    entry = log(holder, datetime.date(2025, 6, 1), "2")
    with pytest.raises(ValidationError) as excinfo:
        entry_void(entry=entry, reason="  ")
    assert excinfo.value.message_dict["void_reason"] == [VOID_REASON_REQUIRED]
    entry_void(entry=entry, reason="Duplicate")
    assert list(entries_of(holder.pk)) == [entry]
    assert list(entries_of(holder.pk, include_voided=False)) == []
    with pytest.raises(ValidationError, match="already voided"):
        entry_void(entry=entry, reason="Again")
    with pytest.raises(ValidationError, match="already voided"):
        entry_edit(entry=entry, hours=Decimal(1))


def test_entries_a_renewal_used_can_be_neither_edited_nor_voided(cspo_holder):
    holder, credential = cspo_holder
    log_twenty(holder)
    fee_record(credential=credential, recorded_by=StaffFactory(), reference="R")
    credential_renew(credential=credential)
    used = Entry.objects.filter(holder=holder).first()
    with pytest.raises(ValidationError, match="used by the renewal of CSPO"):
        entry_void(entry=used, reason="Oops")
    with pytest.raises(ValidationError, match="used by the renewal of CSPO"):
        entry_edit(entry=used, hours=Decimal(1))


def test_fee_submitted_by_the_holder_awaits_staff_confirmation(cspo_holder):
    holder, credential = cspo_holder
    log_twenty(holder)
    with pytest.raises(ValidationError) as excinfo:
        fee_submit(credential=credential, reference=" ")
    assert excinfo.value.message_dict["reference"] == [REFERENCE_REQUIRED]
    fee = fee_submit(credential=credential, reference="SA-12345")
    assert fee.status == Fee.Status.SUBMITTED
    requirements = renewal_requirements(credential)
    assert not requirements.ready
    assert "awaits staff confirmation" in requirements.reasons["fee"][0]
    staff = StaffFactory()
    confirmed = fee_record(credential=credential, recorded_by=staff)
    assert (confirmed.pk, confirmed.status, confirmed.reference) == (fee.pk, "paid", "SA-12345")
    assert confirmed.recorded_by == staff
    assert renewal_requirements(credential).ready


def test_fee_waiver_needs_a_reason(cspo_holder):
    _, credential = cspo_holder
    with pytest.raises(ValidationError) as excinfo:
        fee_waive(credential=credential, recorded_by=StaffFactory(), reason="")
    assert excinfo.value.message_dict["note"] == [WAIVE_REASON_REQUIRED]
    assert not Fee.objects.exists()


def test_a_combined_group_has_one_fee_whichever_credential_records_it():
    holder = UserFactory()
    csm = credential_issue(
        holder=holder, program=program("CSM"), issued_on=datetime.date(2025, 1, 1)
    )
    cspo = credential_issue(
        holder=holder, program=program("CSPO"), issued_on=datetime.date(2025, 1, 1)
    )
    first = fee_submit(credential=csm, reference="R1")
    second = fee_record(credential=cspo, recorded_by=StaffFactory())
    assert first.pk == second.pk
    assert Fee.objects.count() == 1
    assert second.credential is None
    assert second.amount == Decimal(100)


def test_a_program_with_a_staff_set_fee_needs_the_amount_when_recorded():
    holder = UserFactory()
    pmp = credential_issue(
        holder=holder, program=program("PMP"), issued_on=datetime.date(2025, 1, 1)
    )
    with pytest.raises(ValidationError) as excinfo:
        fee_record(credential=pmp, recorded_by=StaffFactory(), reference="PMI-1")
    assert "amount" in excinfo.value.message_dict
    fee = fee_record(credential=pmp, recorded_by=StaffFactory(), amount=Decimal(139))
    assert fee.amount == Decimal(139)


def test_a_lifetime_credential_has_no_fee_to_record():
    pspo = credential_issue(
        holder=UserFactory(), program=program("PSPO I"), issued_on=datetime.date(2020, 1, 1)
    )
    with pytest.raises(ValidationError, match="no renewal fee"):
        fee_record(credential=pspo, recorded_by=StaffFactory())


def test_renewal_is_all_or_nothing_when_one_credential_of_a_group_fails():
    holder = UserFactory()
    csm = credential_issue(
        holder=holder, program=program("CSM"), issued_on=datetime.date(2024, 1, 1)
    )
    cspo = credential_issue(
        holder=holder, program=program("CSPO"), issued_on=datetime.date(2024, 1, 1)
    )
    for month in range(1, 5):
        log(holder, datetime.date(2025, month, 1), "8")
    fee_record(credential=cspo, recorded_by=StaffFactory(), reference="R")
    # A corrupt record claims the CSM's term was already closed, so the CSM's half of the
    # combined renewal hits the database's one-renewal-per-term rule after the CSPO's half.
    other = credential_issue(
        holder=UserFactory(), program=program("CSD"), issued_on=datetime.date(2024, 1, 1)
    )
    Renewal.objects.create(
        closed_term=csm.terms.get(),
        new_term=other.terms.get(),
        units_counted=0,
        units_required=0,
        renewed_on=datetime.date(2025, 1, 1),
    )
    assert [c.program.code for c in renewal_group(cspo).credentials] == ["CSPO", "CSM"]
    with pytest.raises(IntegrityError):
        credential_renew(credential=cspo)
    assert list(cspo.terms.values_list("sequence", flat=True)) == [1]
    assert Renewal.objects.count() == 1
    assert not Renewal.objects.filter(entries__isnull=False).exists()


def test_course_completion_issues_the_credential_and_logs_the_hours_per_day():
    holder = UserFactory()
    course = cspo_course("CSPO-2025-11", title="CSPO online", trainer="Dana")
    _, credential = attendance_record(
        holder=holder, course=course, hours_attended=Decimal(16), completed=True
    )
    assert credential.issued_on == datetime.date(2025, 11, 4)
    assert credential.source_course == course
    entries = list(Entry.objects.filter(holder=holder).order_by("activity_date"))
    assert [(e.activity_date.day, e.hours, e.category.code) for e in entries] == [
        (3, Decimal(8), "learning"),
        (4, Decimal(8), "learning"),
    ]
    # The hours of the course that earned the CSPO never renew that CSPO.
    assert group_balance(renewal_group(credential)).counted == 0
    # Recording the same completion again changes nothing.
    attendance_record(holder=holder, course=course, hours_attended=Decimal(16), completed=True)
    assert Entry.objects.filter(holder=holder).count() == 2
    assert Credential.objects.filter(holder=holder).count() == 1


def test_completion_with_too_few_hours_is_refused_and_stores_nothing():
    holder = UserFactory()
    course = cspo_course("CSPO-SHORT")
    with pytest.raises(ValidationError) as excinfo:
        attendance_record(holder=holder, course=course, hours_attended=Decimal(12), completed=True)
    assert "at least 16" in excinfo.value.message_dict["hours_attended"][0]
    assert not Attendance.objects.exists()
    assert not Credential.objects.exists()
    assert not Entry.objects.exists()


def test_attendance_without_completion_is_recorded_and_issues_nothing():
    holder = UserFactory()
    course = cspo_course("CSPO-PARTIAL")
    _, credential = attendance_record(
        holder=holder, course=course, hours_attended=Decimal(8), completed=False
    )
    assert credential is None
    assert Attendance.objects.get().hours_attended == Decimal(8)
    assert not Credential.objects.exists()
    assert not Entry.objects.exists()


def test_issuing_in_the_future_is_refused():
    with pytest.raises(ValidationError) as excinfo:
        credential_issue(
            holder=UserFactory(), program=program("CSPO"), issued_on=TODAY + datetime.timedelta(1)
        )
    assert "issued_on" in excinfo.value.message_dict
    assert not Credential.objects.exists()


def test_issuing_twice_returns_the_first_credential():
    holder = UserFactory()
    first = credential_issue(
        holder=holder, program=program("CSPO"), issued_on=datetime.date(2025, 1, 1)
    )
    again = credential_issue(
        holder=holder, program=program("CSPO"), issued_on=datetime.date(2025, 6, 1)
    )
    assert again.pk == first.pk
    assert list(again.terms.values_list("starts_on", flat=True)) == [datetime.date(2025, 1, 1)]


def test_voiding_then_relogging_an_entry_restores_the_balance(cspo_holder):
    holder, credential = cspo_holder
    log(holder, datetime.date(2025, 6, 1), "6", title="Course")
    talk = log(
        holder, datetime.date(2025, 6, 1), "4", cat="scrum-alliance:volunteering", title="Talk"
    )
    log(holder, datetime.date(2025, 7, 1), "3", cat="scrum-alliance:events", title="Meetup")
    before = group_balance(renewal_group(credential))
    entry_void(entry=talk, reason="Wrong date")
    assert group_balance(renewal_group(credential)).counted == before.counted - 2  # 8-a-day cap
    log(holder, datetime.date(2025, 6, 1), "4", cat="scrum-alliance:volunteering", title="Talk")
    after = group_balance(renewal_group(credential))
    assert (after.counted, after.by_category) == (before.counted, before.by_category)


def test_a_paid_fee_still_counts_after_a_new_credential_moves_the_renewal_date():
    holder = UserFactory()
    csm = credential_issue(
        holder=holder, program=program("CSM"), issued_on=datetime.date(2024, 1, 10)
    )
    fee_record(credential=csm, recorded_by=StaffFactory(), reference="SA-1")
    credential_issue(holder=holder, program=program("CSPO"), issued_on=datetime.date(2025, 11, 1))
    requirements = renewal_requirements(csm)
    assert requirements.group.ends_on == datetime.date(2027, 11, 1)
    assert requirements.fee_status == "paid"
    assert "fee" not in requirements.reasons
    # Recording against the moved date reuses the paid fee rather than making a second one.
    fee_record(credential=csm, recorded_by=StaffFactory(), reference="SA-1")
    assert Fee.objects.get().period_ends_on == datetime.date(2027, 11, 1)
