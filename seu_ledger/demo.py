"""Demo data: a staff account and holders whose credentials show every status, and two
training organisations whose trainers imported the rosters of their courses.

Dates are relative to today, so a fresh demo always shows an expiring, an in-grace and a lapsed
credential. Running it again changes nothing but resets the demo passwords.
"""

import csv
import datetime
import io
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction

from credentials.dates import add_months
from credentials.models import Course, Organisation, OrganisationMember, Program, RosterImport, User
from credentials.organisations import organisation_member_add
from credentials.roster.imports import roster_import_apply, roster_import_check
from credentials.roster.parse import COLUMNS
from credentials.selectors import today
from credentials.services import (
    DEMO_STAFF_EMAIL,
    attendance_record,
    credential_issue,
    demo_password,
    demo_user_upsert,
)

from .models import Category, Entry
from .services import credential_renew, entry_log, fee_record


@dataclass
class DemoSeedResult:
    staff_email: str
    password: str
    holders: list[tuple[str, str]] = field(default_factory=list)  # (email, what it shows)
    # (email, role as shown, organisation name), for the organisations' members
    organisation_logins: list[tuple[str, str, str]] = field(default_factory=list)


def _days_ago(days: int) -> datetime.date:
    return today() - datetime.timedelta(days=days)


def _category(issuer_code: str, code: str) -> Category:
    return Category.objects.get(issuer__code=issuer_code, code=code)


def _log_once(holder: User, rows: list[tuple]) -> None:
    """Log (days ago, issuer:category, title, hours[, {issuer:category: hours}]) rows unless
    the holder logged any already; the optional mapping splits the hours across categories."""
    if Entry.objects.filter(holder=holder, source_course__isnull=True).exists():
        return
    for days_ago, category, title, hours, *split in rows:
        entry_log(
            holder=holder,
            activity_date=_days_ago(days_ago),
            category=_category(*category.split(":")),
            title=title,
            provider="Demo provider",
            hours=Decimal(hours),
            allocations=[
                (_category(*key.split(":")), Decimal(value))
                for key, value in (split[0] if split else {}).items()
            ],
        )


def _issue(holder: User, program_code: str, issued_on: datetime.date):
    return credential_issue(
        holder=holder, program=Program.objects.get(code=program_code), issued_on=issued_on
    )


def _ending_in(days: int, validity_months: int = 24) -> datetime.date:
    """The issue date whose first term ends `days` from today (negative: ended that long ago)."""
    return add_months(today() + datetime.timedelta(days=days), -validity_months)


@transaction.atomic
def demo_data_seed() -> DemoSeedResult:
    password = demo_password()
    staff = demo_user_upsert(
        email=DEMO_STAFF_EMAIL,
        password=password,
        first_name="Avery",
        last_name="Admin",
        is_staff=True,
        is_superuser=True,
    )
    result = DemoSeedResult(staff_email=staff.email, password=password)

    def holder(email, first, last, shows):
        result.holders.append((email, shows))
        return demo_user_upsert(email=email, password=password, first_name=first, last_name=last)

    # Active: a CSPO earned on a course two hundred days ago, part-way to renewal.
    pat = holder("pat.owner@example.com", "Pat", "Owner", "CSPO, active, units on the way")
    course, _ = Course.objects.get_or_create(
        code="DEMO-CSPO-1",
        defaults={
            "title": "Certified Scrum Product Owner (demo)",
            "program": Program.objects.get(code="CSPO"),
            "trainer": "Dana Trainer",
            "start_date": _days_ago(201),
            "end_date": _days_ago(200),
            "hours": Decimal(16),
            "delivery": Course.Delivery.ONLINE,
        },
    )
    attendance_record(holder=pat, course=course, hours_attended=Decimal(16), completed=True)
    _log_once(
        pat,
        [
            (150, "scrum-alliance:learning", "Product discovery workshop", "6"),
            (90, "scrum-alliance:events", "Agile meetup: backlog refinement", "2.5"),
            (30, "scrum-alliance:volunteering", "Mentored a new product owner", "3"),
        ],
    )

    # Expiring: a CSM ending in thirty days, units short.
    sam = holder("sam.scrum@example.com", "Sam", "Scrum", "CSM, expiring in 30 days, units short")
    _issue(sam, "CSM", _ending_in(30))
    _log_once(
        sam,
        [
            (400, "scrum-alliance:learning", "Scrum patterns reading group", "8"),
            (120, "scrum-alliance:events", "Regional Scrum gathering", "4"),
        ],
    )

    # In grace: a CSP-PO that ended twenty days ago (90 days of grace).
    gia = holder("gia.grace@example.com", "Gia", "Grace", "CSP-PO, in its 90-day grace")
    _issue(gia, "CSP-PO", _ending_in(-20))

    # Lapsed: a CSPO that ended sixty days ago (no grace).
    lee = holder("lee.lapsed@example.com", "Lee", "Lapsed", "CSPO, lapsed")
    _issue(lee, "CSPO", _ending_in(-60))

    # Renewed: a CSPO renewed early with units and fee, now in its second term.
    rene = holder("rene.renewed@example.com", "Rene", "Renewed", "CSPO, renewed once")
    cspo = _issue(rene, "CSPO", _ending_in(10))
    _log_once(
        rene,
        [
            (300, "scrum-alliance:learning", "Product strategy course", "8"),
            (299, "scrum-alliance:learning", "Product strategy course, day 2", "8"),
            (60, "scrum-alliance:events", "Product conference", "6"),
        ],
    )
    if cspo.terms.count() == 1:
        fee_record(credential=cspo, recorded_by=staff, reference="SA-DEMO-0001")
        credential_renew(credential=cspo, renewed_by=rene)

    # Lifetime: PSPO I never expires.
    lou = holder("lou.lifetime@example.com", "Lou", "Lifetime", "PSPO I, lifetime")
    _issue(lou, "PSPO I", _days_ago(700))

    # Combined: CSM + CSPO renew together (30 SEU, US$100) on the date the newer one set.
    casey = holder("casey.combo@example.com", "Casey", "Combo", "CSM + CSPO renewing together")
    _issue(casey, "CSM", _days_ago(400))
    _issue(casey, "CSPO", _days_ago(100))
    _log_once(casey, [(50, "scrum-alliance:learning", "Liberating Structures workshop", "7")])

    # PMI: a PMI-ACP short in two skill areas, with more Giving Back than counts.
    pam = holder("pam.pmi@example.com", "Pam", "Practitioner", "PMI-ACP with category limits")
    _issue(pam, "PMI-ACP", _days_ago(500))
    _log_once(
        pam,
        [
            (200, "pmi:ways-of-working", "Agile estimation course", "10"),
            (100, "pmi:volunteering", "Ran a PMI chapter meeting", "8"),
            (60, "pmi:creating-knowledge", "Spoke at a PMI chapter meeting", "6"),
        ],
    )

    # PMP part-way through the Talent Triangle: one course split across two skill areas.
    pia = holder("pia.pmp@example.com", "Pia", "Manager", "PMP, part-way through the skill areas")
    _issue(pia, "PMP", _days_ago(400))
    _log_once(
        pia,
        [
            (
                300,
                "pmi:ways-of-working",
                "Hybrid delivery course",
                "8",
                {"pmi:ways-of-working": "5", "pmi:power-skills": "3"},
            ),
            (150, "pmi:business-acumen", "Finance for project managers", "4"),
            (60, "pmi:volunteering", "Mentored at the PMI chapter", "6"),
        ],
    )

    # PMI suspension: a PMI-ACP that ended forty days ago, suspended (not valid) for a year.
    sue = holder("sue.suspended@example.com", "Sue", "Suspended", "PMI-ACP, suspended")
    _issue(sue, "PMI-ACP", _ending_in(-40, 36))
    _log_once(sue, [(500, "pmi:power-skills", "Negotiation workshop", "6")])

    # PMI carry-over: renewed early with 6 PDU more than needed in the cycle's last year.
    cam = holder("cam.carry@example.com", "Cam", "Carry", "PMI-ACP, 6 PDU carried over")
    acp = _issue(cam, "PMI-ACP", _ending_in(15, 36))
    _log_once(
        cam,
        [
            (700, "pmi:ways-of-working", "Kanban course", "6"),
            (650, "pmi:power-skills", "Facilitation course", "6"),
            (600, "pmi:business-acumen", "Product economics", "6"),
            (500, "pmi:volunteering", "PMI chapter volunteer", "12"),
            (100, "pmi:ways-of-working", "Scaled agile course", "6"),
        ],
    )
    if acp.terms.count() == 1:
        fee_record(credential=acp, recorded_by=staff, reference="PMI-DEMO-0001")
        credential_renew(credential=acp, renewed_by=cam)

    _organisations_seed(result, holder)
    return result


# --- Training organisations ------------------------------------------------------------------

# (slug, name, reply-to address, website, its members as (email, first, last, role)).
ORGANISATIONS = [
    (
        "northwind",
        "Northwind Agile Academy",
        "courses@northwind.example",
        "https://northwind.example",
        [
            ("tara.trainer@example.com", "Tara", "Trainer", OrganisationMember.Role.TRAINER),
            ("nina.northwind@example.com", "Nina", "Northwind", OrganisationMember.Role.ADMIN),
        ],
    ),
    (
        "southgate",
        "Southgate Scrum School",
        "hello@southgate.example",
        "https://southgate.example",
        [("toby.trainer@example.com", "Toby", "Trainer", OrganisationMember.Role.TRAINER)],
    ),
]

# The people the organisations trained: holders with a demo login, on these courses.
ATTENDEES = [
    ("ada.attendee@example.com", "Ada", "Attendee", "CSPO from Northwind, expiring in 30 days"),
    ("ben.attendee@example.com", "Ben", "Attendee", "CSPO from Northwind, expiring in 30 days"),
    (
        "cleo.attendee@example.com",
        "Cleo",
        "Attendee",
        "CSPO from Northwind expiring, CSM from Southgate lapsed",
    ),
    ("dev.attendee@example.com", "Dev", "Attendee", "CSM from Northwind, CSPO from Southgate"),
    ("eli.attendee@example.com", "Eli", "Attendee", "CSPO and a lapsed CSM from Southgate"),
]


def _courses() -> dict[str, list[tuple]]:
    """{organisation slug: its roster's courses as (code, title, program, trainer's name,
    end date, hours, attendees' emails)}. The Northwind CSPO ends its first term in 30 days
    (its at-risk list shows it), the Southgate CSM ended 20 days ago (lapsed)."""
    return {
        "northwind": [
            (
                "NORTHWIND-CSPO-1",
                "Certified Scrum Product Owner",
                "CSPO",
                "Tara Trainer",
                _ending_in(30),
                16,
                ["ada", "ben", "cleo"],
            ),
            (
                "NORTHWIND-CSM-1",
                "Certified ScrumMaster",
                "CSM",
                "Tara Trainer",
                _days_ago(30),
                14,
                ["dev"],
            ),
        ],
        "southgate": [
            (
                "SOUTHGATE-CSPO-1",
                "Certified Scrum Product Owner, evenings",
                "CSPO",
                "Toby Trainer",
                _days_ago(60),
                16,
                ["dev", "eli"],
            ),
            (
                "SOUTHGATE-CSM-1",
                "Certified ScrumMaster",
                "CSM",
                "Toby Trainer",
                _ending_in(-20),
                14,
                ["cleo", "eli"],
            ),
        ],
    }


def _roster_csv(courses, attendees: dict[str, User]) -> bytes:
    """A roster file as a trainer uploads it (the template's columns), every row completed."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for code, title, program, trainer, end_date, hours, people in courses:
        for name in people:
            person = attendees[name]
            writer.writerow(
                [
                    person.email,
                    person.first_name,
                    person.last_name,
                    code,
                    title,
                    program,
                    trainer,
                    end_date - datetime.timedelta(days=1),
                    end_date,
                    hours,
                    "yes",
                    "",
                ]
            )
    return out.getvalue().encode()


def _roster_once(organisation: Organisation, uploaded_by: User, data: bytes) -> None:
    """Import the organisation's demo roster as its trainer would (checked within the
    organisation's scope, then applied: attendances, credentials and ledger entries the normal
    way), unless it was imported already."""
    name = f"{organisation.slug}-demo-roster.csv"
    if RosterImport.objects.filter(organisation=organisation, original_name=name).exists():
        return
    record = roster_import_check(
        data=data, name=name, uploaded_by=uploaded_by, organisation=organisation
    )
    if record.status != RosterImport.Status.VALIDATED or record.errors:
        raise RuntimeError(f"The demo roster of {organisation.name} is refused: {record.errors}")
    # What confirming on the page does, with this process as the worker.
    RosterImport.objects.filter(pk=record.pk).update(status=RosterImport.Status.QUEUED)
    record = roster_import_apply(import_id=record.pk)
    if record.status != RosterImport.Status.DONE:
        raise RuntimeError(f"The demo roster of {organisation.name} ended {record.status}.")


def _organisations_seed(result: DemoSeedResult, holder) -> None:
    """Two training organisations, each with a trainer (Northwind also with an organisation
    admin) who imported the roster of two courses; their attendees are demo holders."""
    attendees = {
        email.split(".")[0]: holder(email, first, last, shows)
        for email, first, last, shows in ATTENDEES
    }
    courses = _courses()
    staff = User.objects.get(email=DEMO_STAFF_EMAIL)
    for slug, name, reply_to, website, members in ORGANISATIONS:
        organisation, _ = Organisation.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "reply_to": reply_to,
                "website": website,
                # The demo's addresses: its admin can add members on its page.
                "member_domains": "example.com",
            },
        )
        trainer = None
        for email, first, last, role in members:
            # A demo login (active, with the demo password), then a member like any other.
            user = demo_user_upsert(
                email=email, password=result.password, first_name=first, last_name=last
            )
            if not OrganisationMember.objects.filter(organisation=organisation, user=user).exists():
                # Existing accounts are platform staff's to add: the demo's superuser does.
                organisation_member_add(
                    organisation=organisation, email=email, role=role, added_by=staff
                )
            result.organisation_logins.append((email, role.label.lower(), organisation.name))
            if role == OrganisationMember.Role.TRAINER and trainer is None:
                trainer = user
        _roster_once(organisation, trainer, _roster_csv(courses[slug], attendees))
