"""Every admin list and form costs a number of queries that does not grow with the rows.

Each registered model admin is opened with 12 rows of every model, then with 500 (and a
holder with 500 activities, a course with 500 attendees): the second visit may not cost more
queries than the first. The rows are written in bulk, as the reports and imports write them.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

import pytest
import time_machine
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import connection, reset_queries, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from credentials.models import (
    Attendance,
    Course,
    Credential,
    Invitation,
    Issuer,
    Membership,
    Organisation,
    OrganisationMember,
    Program,
    RosterImport,
    Term,
    User,
)
from cspo_tracker.history import CREATED, history_record
from seu_ledger.models import (
    Category,
    CategoryLimit,
    CategoryMapping,
    Entry,
    Fee,
    Reminder,
    Renewal,
    RuleVersion,
)
from tests.factories import StaffFactory, category, program

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 5, 20)
SMALL, LARGE = 12, 500
# What any admin page may cost at most, however few its rows: a page whose cost grows with its
# rows shows it already at 12.
CEILING = 30


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel(datetime.datetime(2026, 5, 20, 12, tzinfo=datetime.UTC), tick=False):
        yield


class Rows:
    """Grows the database to `n` rows of every model the admin lists (written in bulk), with
    one holder whose activities and one course whose attendees number `n` too."""

    def __init__(self, staff):
        self.staff = staff
        self.n = 0
        self.cspo = program("CSPO")
        self.learning = category("scrum-alliance:learning")
        self.rules = RuleVersion.objects.order_by("pk").first()
        self.holder = User.objects.create(email="many@example.com", first_name="Many")
        # The first organisation (its admin form is measured): its members and the trainers
        # of its course grow with the rows.
        self.organisation = Organisation.objects.create(name="Big Academy", slug="big")
        self.course = Course.objects.create(
            code="BIG-1",
            program=self.cspo,
            organisation=self.organisation,
            start_date=datetime.date(2025, 11, 3),
            end_date=datetime.date(2025, 11, 4),
            hours=Decimal(16),
        )
        self.credential = Credential.objects.create(
            holder=self.holder, program=self.cspo, issued_on=datetime.date(2025, 11, 4)
        )
        Term.objects.create(
            credential=self.credential,
            sequence=1,
            starts_on=datetime.date(2025, 11, 4),
            ends_on=datetime.date(2027, 11, 4),
        )

    def grow(self, n: int) -> None:
        new = range(self.n, n)
        self.n = n
        now = timezone.now()
        holders = User.objects.bulk_create(
            User(email=f"h{i}@example.com", first_name=f"First{i}", last_name=f"Last{i}")
            for i in new
        )
        issuers = Issuer.objects.bulk_create(
            Issuer(code=f"issuer-{i}", name=f"Issuer {i}") for i in new
        )
        programs = Program.objects.bulk_create(
            Program(issuer=issuer, code=f"P{i}", name=f"Program {i}", validity_months=24)
            for i, issuer in zip(new, issuers, strict=True)
        )
        Membership.objects.bulk_create(
            Membership(holder=holder, issuer=issuer, member_id=f"M{i}")
            for i, holder, issuer in zip(new, holders, issuers, strict=True)
        )
        courses = Course.objects.bulk_create(
            Course(
                code=f"C-{i}",
                program=prog,
                start_date=datetime.date(2025, 1, 1),
                end_date=datetime.date(2025, 1, 2),
                hours=Decimal(16),
            )
            for i, prog in zip(new, programs, strict=True)
        )
        Attendance.objects.bulk_create(
            Attendance(holder=holder, course=self.course, hours_attended=Decimal(16))
            for holder in holders
        )
        organisations = Organisation.objects.bulk_create(
            Organisation(name=f"Academy {i}", slug=f"academy-{i}") for i in new
        )
        OrganisationMember.objects.bulk_create(
            OrganisationMember(organisation=self.organisation, user=holder) for holder in holders
        )
        OrganisationMember.objects.bulk_create(
            OrganisationMember(organisation=org, user=holder, role="admin")
            for org, holder in zip(organisations, holders, strict=True)
        )
        Course.trainers.through.objects.bulk_create(
            Course.trainers.through(course=self.course, user=holder) for holder in holders
        )
        Attendance.objects.bulk_create(
            Attendance(holder=holder, course=course, hours_attended=Decimal(8))
            for holder, course in zip(holders, courses, strict=True)
        )
        credentials = Credential.objects.bulk_create(
            Credential(
                holder=holder,
                program=self.cspo,
                issued_on=TODAY - datetime.timedelta(days=600 + i),
                source_course=course,
            )
            for i, holder, course in zip(new, holders, courses, strict=True)
        )
        terms = Term.objects.bulk_create(
            Term(
                credential=credential,
                sequence=1,
                starts_on=credential.issued_on,
                ends_on=credential.issued_on + datetime.timedelta(days=730),
            )
            for credential in credentials
        )
        # Each holder renewed once: the term renewed into, and the renewal.
        next_terms = Term.objects.bulk_create(
            Term(
                credential=term.credential,
                sequence=2,
                starts_on=term.ends_on,
                ends_on=term.ends_on + datetime.timedelta(days=730),
            )
            for term in terms
        )
        categories = Category.objects.bulk_create(
            Category(issuer=issuer, name=f"Category {i}", code=f"cat-{i}")
            for i, issuer in zip(new, issuers, strict=True)
        )
        CategoryMapping.objects.bulk_create(
            CategoryMapping(source=source, target=self.learning) for source in categories
        )
        versions = RuleVersion.objects.bulk_create(
            RuleVersion(
                program=prog,
                effective_from=datetime.date(2020, 1, 1),
                units_required=Decimal(20),
                lookback_months=30,
            )
            for prog in programs
        )
        CategoryLimit.objects.bulk_create(
            CategoryLimit(rule_version=version, category=cat, min_units=Decimal(1))
            for version, cat in zip(versions, categories, strict=True)
        )
        entries = Entry.objects.bulk_create(
            Entry(
                holder=self.holder,
                activity_date=TODAY - datetime.timedelta(days=1 + i % 300),
                category=self.learning,
                title=f"Meetup {i}",
                hours=Decimal(1),
            )
            for i in new
        )
        Entry.objects.bulk_create(
            Entry(
                holder=holder,
                activity_date=TODAY - datetime.timedelta(days=10),
                category=self.learning,
                title="Talk",
                hours=Decimal(2),
            )
            for holder in holders
        )
        fees = Fee.objects.bulk_create(
            Fee(
                holder=term.credential.holder,
                issuer=self.cspo.issuer,
                credential=term.credential,
                period_ends_on=term.ends_on,
                description=f"CSPO renewal {i}",
                amount=Decimal(100),
                status=Fee.Status.PAID,
                recorded_by=self.staff,
                recorded_at=now,
            )
            for i, term in zip(new, terms, strict=True)
        )
        renewals = Renewal.objects.bulk_create(
            Renewal(
                closed_term=term,
                new_term=after,
                fee=fee,
                units_counted=Decimal(20),
                units_required=Decimal(20),
                renewed_on=term.ends_on - datetime.timedelta(days=5),
                renewed_by=self.staff,
            )
            for term, after, fee in zip(terms, next_terms, fees, strict=True)
        )
        Renewal.entries.through.objects.bulk_create(
            Renewal.entries.through(renewal=renewals[0], entry=entry) for entry in entries
        )
        Reminder.objects.bulk_create(
            Reminder(
                holder=term.credential.holder,
                term=term,
                days_before=30,
                term_ends_on=term.ends_on,
                kind=Reminder.Kind.EXPIRY_APPROACHING,
                status=Reminder.Status.SENT,
                created_at=now,
                sent_at=now,
            )
            for term in next_terms
        )
        Invitation.objects.bulk_create(
            Invitation(holder=holder, requested_by=self.staff, sent_at=now) for holder in holders
        )
        RosterImport.objects.bulk_create(
            RosterImport(
                file=f"rosters/r{i}.csv", original_name=f"r{i}.csv", uploaded_by=self.staff
            )
            for i in new
        )
        self.grow_inlines(issuers[:2], programs[:2], categories[:2])
        Group.objects.bulk_create(Group(name=f"Group {i}") for i in new)
        for model in (AccessAttempt, AccessFailureLog, AccessLog):
            model.objects.bulk_create(
                model(
                    username=f"h{i}@example.com",
                    ip_address="192.0.2.1",
                    user_agent="pytest",
                    path_info="/accounts/login/",
                    **({"failures_since_start": 1} if model is AccessAttempt else {}),
                )
                for i in new
            )
        self.grow_webhooks(new, holders)
        for model, written in (
            (Credential, credentials),
            (Term, [*terms, *next_terms]),
            (Entry, entries),
            (Fee, fees),
        ):
            history_record(
                model.objects.filter(pk__in=[row.pk for row in written]), history_type=CREATED
            )

    def grow_webhooks(self, new, holders) -> None:
        """API tokens, and webhook endpoints with deliveries and their attempts (the first
        delivery gets two more attempts each time: the inline on its form grows)."""
        from api.models import ApiToken, Delivery, DeliveryAttempt, Event, WebhookEndpoint

        now = timezone.now()
        ApiToken.objects.bulk_create(
            ApiToken(kind="personal", user=holder, name=f"t{i}", prefix=f"p{i}", digest=f"{i:064}")
            for i, holder in zip(new, holders, strict=True)
        )
        endpoints = WebhookEndpoint.objects.bulk_create(
            WebhookEndpoint(url=f"https://h{i}.example.com/", events=["credential.issued"])
            for i in new
        )
        events = Event.objects.bulk_create(
            Event(
                type="credential.issued", key=f"e{i}", subject=f"s{i}", payload={}, occurred_at=now
            )
            for i in new
        )
        deliveries = Delivery.objects.bulk_create(
            Delivery(event=event, endpoint=endpoint, subject=event.subject)
            for event, endpoint in zip(events, endpoints, strict=True)
        )
        first = Delivery.objects.order_by("pk").first()
        DeliveryAttempt.objects.bulk_create(
            [
                *(
                    DeliveryAttempt(delivery=d, attempted_at=now, status_code=500)
                    for d in deliveries
                ),
                *(
                    DeliveryAttempt(delivery=first, attempted_at=now, status_code=500)
                    for _ in range(2)
                ),
            ]
        )

    def grow_inlines(self, issuers, programs, categories) -> None:
        """Two more rows in each inline of the pages opened (`page_urls`): a row that costs a
        query of its own shows. (Many more would be rows of selects 500 options long.)"""
        added = len(issuers)
        Membership.objects.bulk_create(
            Membership(holder=self.holder, issuer=issuer) for issuer in issuers
        )
        extra = Credential.objects.bulk_create(
            Credential(holder=self.holder, program=prog, issued_on=datetime.date(2025, 1, 1))
            for prog in programs
        )
        Term.objects.bulk_create(
            Term(
                credential=credential,
                sequence=1,
                starts_on=credential.issued_on,
                ends_on=datetime.date(2027, 1, 1),
            )
            for credential in extra
        )
        last = self.credential.terms.order_by("-sequence").first()
        Term.objects.bulk_create(
            Term(
                credential=self.credential,
                sequence=last.sequence + 1 + index,
                starts_on=last.starts_on,
                ends_on=last.ends_on,
            )
            for index in range(added)
        )
        CategoryMapping.objects.bulk_create(
            CategoryMapping(source=self.learning, target=target) for target in categories
        )
        CategoryLimit.objects.bulk_create(
            CategoryLimit(rule_version=self.rules, category=cat, max_units=Decimal(5))
            for cat in categories
        )
        RuleVersion.objects.bulk_create(
            RuleVersion(
                program=self.cspo,
                effective_from=datetime.date(1990, 1, 1) + datetime.timedelta(days=self.n + index),
                units_required=Decimal(20),
                lookback_months=30,
            )
            for index in range(added)
        )


def admin_pages():
    """(name, model admin) for every registered model admin."""
    for model, model_admin in admin.site._registry.items():
        yield f"{model._meta.app_label}.{model._meta.model_name}", model_admin


def page_urls(model_admin, rows: Rows) -> dict[str, str]:
    """The admin's list, and the form of the object with the most related rows."""
    meta = model_admin.model._meta
    chosen = {
        User: rows.holder,
        Course: rows.course,
        Credential: rows.credential,
        Category: rows.learning,
        Program: rows.cspo,
    }.get(model_admin.model)
    if chosen is None:
        # The first: the renewal with every entry, the rule version with the most limits.
        chosen = model_admin.model._default_manager.order_by("pk").first()
    object_id = getattr(chosen, "history_id", None) or chosen.pk
    return {
        "list": reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"),
        "form": reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[object_id]),
    }


def queries_of(client, url: str) -> int:
    reset_queries()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(queries)


PAGES = list(admin_pages())


@dataclass
class Measured:
    staff: User
    urls: dict[tuple[str, str], str]  # (model, "list" or "form") -> address
    bounds: dict[tuple[str, str], int]  # -> queries with 12 rows


@pytest.fixture(scope="module")
def measured(django_db_setup, django_db_blocker):
    """Each page's queries with 12 rows, then the database grown to 500 rows for the tests;
    all of it in one transaction, rolled back after the module."""
    with (
        django_db_blocker.unblock(),
        time_machine.travel(datetime.datetime(2026, 5, 20, 12, tzinfo=datetime.UTC), tick=False),
        transaction.atomic(),
    ):
        staff = StaffFactory(is_superuser=True)
        client = Client()
        client.force_login(staff)
        rows = Rows(staff)
        rows.grow(SMALL)
        urls = {
            (name, page): url
            for name, model_admin in PAGES
            for page, url in page_urls(model_admin, rows).items()
        }
        bounds = {key: queries_of(client, url) for key, url in urls.items()}
        rows.grow(LARGE)
        if connection.vendor == "postgresql":
            # Statistics for the rows just written (ANALYZE counts this transaction's own
            # rows). Without them the planner may go by figures an earlier test left (tables
            # it saw empty) and nest loops over thousands of rows: minutes instead of seconds.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        yield Measured(staff, urls, bounds)
        transaction.set_rollback(True)


@pytest.mark.parametrize("page", ["list", "form"])
@pytest.mark.parametrize("name", [name for name, _ in PAGES])
def test_each_admin_page_costs_the_same_queries_for_12_or_500_rows(
    client, django_assert_max_num_queries, measured, name, page
):
    bound = measured.bounds[(name, page)]
    assert bound <= CEILING, f"{name} {page}: {bound} queries with {SMALL} rows"
    client.force_login(measured.staff)
    url = measured.urls[(name, page)]
    with django_assert_max_num_queries(bound, info=f"{name} {page} with {LARGE} rows"):
        response = client.get(url)
    assert response.status_code == 200
