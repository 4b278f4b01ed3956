"""`manage.py seed_demo` gives a newcomer working logins, however often it runs."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from credentials.models import User
from credentials.services import DEMO_STAFF_EMAIL

pytestmark = pytest.mark.django_db


def test_seed_demo_prints_working_staff_and_holder_logins(settings):
    settings.DEBUG = True
    out = StringIO()
    call_command("seed_demo", stdout=out)
    output = out.getvalue()
    assert f"Staff login:  {DEMO_STAFF_EMAIL} / " in output
    password = output.split(f"{DEMO_STAFF_EMAIL} / ")[1].split()[0]
    staff = User.objects.get(email=DEMO_STAFF_EMAIL)
    assert staff.is_staff
    assert staff.is_superuser
    assert staff.check_password(password)
    assert "Holder login:" in output


def test_seed_demo_holders_cover_every_status(settings):
    from credentials.models import Credential
    from credentials.selectors import credential_status

    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    credentials = Credential.objects.select_related("program").prefetch_related("terms")
    statuses = {credential_status(c).value for c in credentials}
    assert {"active", "expiring", "in_grace", "lapsed"} <= statuses
    assert any(c.terms.count() == 2 for c in credentials), "a renewed credential"
    assert any(c.program.is_lifetime for c in credentials)
    combined = credentials.filter(holder__email="casey.combo@example.com")
    assert sorted(c.program.code for c in combined) == ["CSM", "CSPO"]


def test_seed_demo_shows_the_pmi_rules(settings):
    """A PMP part-way through the skill areas, a PMI-ACP suspended, one with carry-over."""
    from credentials.models import Credential
    from credentials.selectors import credential_is_valid, credential_status_label
    from seu_ledger.models import CarriedUnits
    from seu_ledger.selectors import renewal_requirements

    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    pmp = Credential.objects.get(holder__email="pia.pmp@example.com")
    balance = renewal_requirements(pmp).balance
    assert 0 < balance.counted < balance.required
    assert balance.missing_by_category  # skill areas still short
    suspended = Credential.objects.get(holder__email="sue.suspended@example.com")
    assert credential_status_label(suspended) == "Suspended"
    assert not credential_is_valid(suspended)
    carried = CarriedUnits.objects.filter(entry__holder__email="cam.carry@example.com")
    assert sum(c.units for c in carried) == 6
    renewed = Credential.objects.get(holder__email="cam.carry@example.com")
    assert renewal_requirements(renewed).balance.counted == 6


def test_seed_demo_adds_two_organisations_with_trainers_and_their_courses(settings):
    """Each organisation has a trainer (Northwind also an organisation admin) who imported the
    roster of two courses: the courses are the organisation's and name the trainer, their
    attendees completed and hold the credentials the courses issued."""
    from credentials.models import Credential, Organisation, OrganisationMember, RosterImport
    from credentials.organisations import at_risk_rows, course_attendees, courses_visible_to

    settings.DEBUG = True
    out = StringIO()
    call_command("seed_demo", stdout=out)
    output = out.getvalue()
    password = output.split(f"{DEMO_STAFF_EMAIL} / ")[1].split()[0]

    northwind = Organisation.objects.get(slug="northwind")
    southgate = Organisation.objects.get(slug="southgate")
    assert northwind.name == "Northwind Agile Academy"
    assert southgate.name == "Southgate Scrum School"
    for organisation in (northwind, southgate):
        assert organisation.reply_to
        assert organisation.website.startswith("https://")
    members = {
        (m.organisation.slug, m.user.email, m.role)
        for m in OrganisationMember.objects.select_related("organisation", "user")
    }
    assert members == {
        ("northwind", "tara.trainer@example.com", "trainer"),
        ("northwind", "nina.northwind@example.com", "admin"),
        ("southgate", "toby.trainer@example.com", "trainer"),
    }
    for email, role, organisation in [
        ("tara.trainer@example.com", "trainer", northwind.name),
        ("nina.northwind@example.com", "organisation admin", northwind.name),
        ("toby.trainer@example.com", "trainer", southgate.name),
    ]:
        assert f"Organisation login: {email} / {password}  ({role}, {organisation})" in output
        user = User.objects.get(email=email)
        assert user.state == User.State.ACTIVE
        assert not user.is_staff
        assert user.check_password(password)

    tara = User.objects.get(email="tara.trainer@example.com")
    toby = User.objects.get(email="toby.trainer@example.com")
    nina = User.objects.get(email="nina.northwind@example.com")
    for trainer, organisation in ((tara, northwind), (toby, southgate)):
        courses = list(courses_visible_to(trainer).order_by("code"))
        assert len(courses) == 2
        for course in courses:
            assert course.organisation == organisation
            assert list(course.trainers.all()) == [trainer]
            attendees = course_attendees(trainer, course)
            assert attendees
            assert all(row.completed and row.credential_issued for row in attendees)
        roster = RosterImport.objects.get(organisation=organisation)
        assert (roster.status, roster.uploaded_by, roster.errors) == ("done", trainer, [])
    # Each trainer reaches only their own organisation's courses; the admin all of Northwind's.
    assert set(courses_visible_to(nina)) == set(northwind.courses.all())
    assert not courses_visible_to(toby).filter(organisation=northwind).exists()
    # Issued the normal way: from the course, with its hours in the attendee's ledger.
    ada = Credential.objects.get(holder__email="ada.attendee@example.com", program__code="CSPO")
    assert ada.source_course.code == "NORTHWIND-CSPO-1"
    assert ada.holder.entries.filter(source_course=ada.source_course).exists()
    assert "Holder login: ada.attendee@example.com / " in output
    # Northwind's old CSPO course ends its attendees' first term in 30 days: at risk.
    at_risk = at_risk_rows(northwind)
    assert {row.email for row in at_risk} == {
        "ada.attendee@example.com",
        "ben.attendee@example.com",
        "cleo.attendee@example.com",
    }
    assert {row.status for row in at_risk} == {"expiring"}


def test_seed_demo_twice_changes_nothing(settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    from credentials.models import (
        Attendance,
        Course,
        Credential,
        Organisation,
        OrganisationMember,
        RosterImport,
        Term,
    )
    from seu_ledger.models import Entry, Fee, Renewal

    def snapshot():
        return (
            list(User.objects.order_by("pk").values_list("pk", "email", "is_staff", "state")),
            list(Term.objects.order_by("pk").values_list("pk", "starts_on", "ends_on")),
            Entry.objects.count(),
            Fee.objects.count(),
            Renewal.objects.count(),
            list(Organisation.objects.order_by("pk").values_list("pk", "slug", "reply_to")),
            list(
                OrganisationMember.objects.order_by("pk").values_list(
                    "organisation_id", "user_id", "role"
                )
            ),
            list(
                Course.objects.order_by("pk").values_list(
                    "pk", "code", "organisation_id", "trainers", "end_date"
                )
            ),
            list(Attendance.objects.order_by("pk").values_list("pk", "completed")),
            list(Credential.objects.order_by("pk").values_list("pk", "source_course_id")),
            list(RosterImport.objects.order_by("pk").values_list("pk", "status")),
        )

    before = snapshot()
    call_command("seed_demo", stdout=StringIO())
    assert snapshot() == before


def test_seed_demo_refuses_to_run_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("seed_demo", stdout=StringIO())
    assert not User.objects.exists()
