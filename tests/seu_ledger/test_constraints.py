"""Rules the database holds even when a write goes around the services."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from credentials.models import Attendance, Course, Term
from credentials.services import credential_issue
from seu_ledger.models import Entry, Fee
from tests.factories import UserFactory, category, program

pytestmark = pytest.mark.django_db
DAY = datetime.date(2025, 1, 1)


def refused(**create):
    model = create.pop("model")
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.create(**create)


def entry(holder, **fields):
    values = {
        "holder": holder,
        "activity_date": DAY,
        "category": category("scrum-alliance:learning"),
        "title": "x",
        "hours": Decimal(1),
    }
    values.update(fields)
    return values


@pytest.mark.parametrize("hours", ["0", "-1", "1.3", "0.1", "1000.25"])
def test_entry_hours_must_be_positive_quarter_steps(hours):
    refused(model=Entry, **entry(UserFactory(), hours=Decimal(hours)))


@pytest.mark.parametrize("hours", ["0.25", "1.5", "7.75", "1000"])
def test_entry_hours_in_quarter_steps_are_accepted(hours):
    assert Entry.objects.create(**entry(UserFactory(), hours=Decimal(hours))).pk


def test_a_voided_entry_needs_a_reason():
    from django.utils import timezone

    refused(model=Entry, **entry(UserFactory(), voided_at=timezone.now(), void_reason=""))


def course(**fields):
    values = {
        "code": "C-1",
        "program": program("CSPO"),
        "start_date": DAY,
        "end_date": DAY,
        "hours": Decimal(16),
    }
    values.update(fields)
    return values


def test_course_codes_are_unique():
    Course.objects.create(**course())
    refused(model=Course, **course())


def test_a_course_cannot_end_before_it_starts():
    refused(model=Course, **course(end_date=DAY - datetime.timedelta(days=1)))


def test_course_hours_are_positive():
    refused(model=Course, **course(hours=Decimal(0)))


def test_one_attendance_per_holder_and_course():
    holder, c = UserFactory(), Course.objects.create(**course())
    Attendance.objects.create(holder=holder, course=c, hours_attended=Decimal(16))
    refused(model=Attendance, holder=holder, course=c, hours_attended=Decimal(8))


def test_attended_hours_are_not_negative():
    refused(
        model=Attendance,
        holder=UserFactory(),
        course=Course.objects.create(**course()),
        hours_attended=Decimal(-1),
    )


def test_one_term_per_sequence_and_a_term_ends_after_it_starts():
    credential = credential_issue(holder=UserFactory(), program=program("CSPO"), issued_on=DAY)
    refused(
        model=Term,
        credential=credential,
        sequence=1,
        starts_on=DAY,
        ends_on=DAY + datetime.timedelta(1),
    )
    refused(model=Term, credential=credential, sequence=2, starts_on=DAY, ends_on=DAY)


def test_a_waived_fee_needs_a_reason():
    holder = UserFactory()
    refused(
        model=Fee,
        holder=holder,
        issuer=program("CSPO").issuer,
        period_ends_on=DAY,
        description="Renewal",
        status=Fee.Status.WAIVED,
    )


def test_one_fee_per_group_period():
    holder = UserFactory()
    issuer = program("CSPO").issuer
    Fee.objects.create(holder=holder, issuer=issuer, period_ends_on=DAY, description="a")
    refused(model=Fee, holder=holder, issuer=issuer, period_ends_on=DAY, description="b")
