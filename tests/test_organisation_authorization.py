"""Training organisations' members reach their own organisation's courses, rosters and
attendees, and nothing else: URL by URL (pages, exports, rosters, the admin, the API), for an
organisation admin and two trainers of each of two organisations. No organisation role
reaches a holder's ledger or evidence, even a holder who attended its course.

Every URL of the organisation pages and the roster pages is in `NORTH_URLS` (a new one fails
`test_every_organisation_url_is_in_the_table`)."""

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from api.models import Scope
from credentials.models import (
    Attendance,
    Course,
    Credential,
    OrganisationMember,
    RosterImport,
)
from credentials.roster.imports import roster_import_check
from credentials.services import credential_issue
from seu_ledger.services import entry_log
from tests.api.conftest import Caller, personal
from tests.api.test_api_authorization import (
    ANY,
    HOLDER,
    PUBLIC,
    ROUTES,
    objects,  # noqa: F401 - the API table's fixture
)
from tests.factories import (
    UserFactory,
    category,
    cspo_course,
    member_of,
    organisation,
    program,
    staff_in,
)
from tests.test_authorization import ID_URLS, STAFF_URLS, all_patterns, sample_url

pytestmark = pytest.mark.django_db

ROSTER = (
    "email,first_name,last_name,course_code,program,start_date,end_date,hours_attended,completed\n"
    "{email},Ann,Able,{course},CSPO,2025-11-03,2025-11-04,16,yes\n"
)
ORGANISATION_WORK = ("organisations", "roster")
PUBLIC_ORGANISATION_URLS = {"organisations:logo"}
ROLES = ("admin", "trainer", "other_trainer")


@pytest.fixture
def world():
    """North and south, each with an admin, a trainer named on its course and a trainer who
    is not; a holder who attended each course (credential issued by the north one, an entry
    with evidence in her ledger); a roster uploaded by each named trainer."""
    made = {}
    holder = UserFactory(email="holder@example.com")
    for slug in ("north", "south"):
        org = organisation(slug)
        people = {role: member_of(org, "admin" if role == "admin" else "trainer") for role in ROLES}
        course = cspo_course(f"{slug.upper()}-1", organisation=org)
        course.trainers.add(people["trainer"])
        Attendance.objects.create(holder=holder, course=course, hours_attended=16, completed=True)
        data = ROSTER.format(email=f"new.{slug}@example.com", course=course.code).encode()
        roster = roster_import_check(
            data=data, name=f"{slug}.csv", uploaded_by=people["trainer"], organisation=org
        )
        assert not roster.errors
        made[slug] = {
            "organisation": org,
            "course": course,
            "roster": roster,
            "member": OrganisationMember.objects.get(user=people["other_trainer"]),
            **people,
        }
    credential = credential_issue(
        holder=holder,
        program=program("CSPO"),
        issued_on=datetime.date(2025, 11, 4),
        source_course=made["north"]["course"],
    )
    entry = entry_log(
        holder=holder,
        activity_date=datetime.date(2026, 1, 10),
        category=category("scrum-alliance:learning"),
        title="Private workshop",
        hours=Decimal(4),
        evidence=SimpleUploadedFile("private.pdf", b"%PDF-1.4 private"),
    )
    made["holder"] = {"user": holder, "credential": credential, "entry": entry}
    return made


# URL name -> (kwargs pointing at north's objects, who of north reaches it)
EVERYONE, NAMED, ADMIN = "everyone", "named", "admin"
NORTH_URLS = {
    "organisations:list": (lambda n: {}, EVERYONE),
    "organisations:detail": (lambda n: {"slug": "north"}, EVERYONE),
    "organisations:course": (lambda n: {"slug": "north", "pk": n["course"].pk}, NAMED),
    "organisations:course_attendees_csv": (
        lambda n: {"slug": "north", "pk": n["course"].pk},
        NAMED,
    ),
    "organisations:course_attendees_xlsx": (
        lambda n: {"slug": "north", "pk": n["course"].pk},
        NAMED,
    ),
    "organisations:course_trainers": (lambda n: {"slug": "north", "pk": n["course"].pk}, ADMIN),
    "organisations:members": (lambda n: {"slug": "north"}, ADMIN),
    "organisations:member_change": (lambda n: {"slug": "north", "pk": n["member"].pk}, ADMIN),
    "organisations:branding": (lambda n: {"slug": "north"}, ADMIN),
    "organisations:at_risk": (lambda n: {"slug": "north"}, ADMIN),
    "organisations:at_risk_csv": (lambda n: {"slug": "north"}, ADMIN),
    "organisations:at_risk_xlsx": (lambda n: {"slug": "north"}, ADMIN),
    "roster:history": (lambda n: {}, EVERYONE),
    "roster:upload": (lambda n: {}, EVERYONE),
    "roster:template": (lambda n: {}, EVERYONE),
    # North's roster, uploaded by its named trainer: theirs and the admin's.
    "roster:detail": (lambda n: {"pk": n["roster"].pk}, NAMED),
    "roster:apply": (lambda n: {"pk": n["roster"].pk}, NAMED),
    "roster:progress": (lambda n: {"pk": n["roster"].pk}, NAMED),
    "roster:recheck": (lambda n: {"pk": n["roster"].pk}, NAMED),
    "roster:discard": (lambda n: {"pk": n["roster"].pk}, NAMED),
    "roster:errors": (lambda n: {"pk": n["roster"].pk}, NAMED),
    "roster:rejected": (lambda n: {"pk": n["roster"].pk}, NAMED),
}
# Pages that answer 404 to everyone when there is nothing to show (no rejected rows here).
EMPTY = {"roster:rejected"}
# Pages that take only a POST, or both; the others take only GET (and HEAD). A request in a
# method the page does not take is refused with 405 before anything is looked up.
POST_ONLY = {
    "roster:apply",
    "roster:recheck",
    "roster:discard",
    "organisations:course_trainers",
    "organisations:member_change",
}
BOTH = {"organisations:members", "organisations:branding", "roster:upload"}


def takes(name: str, method: str) -> bool:
    if name in BOTH:
        return True
    return (method == "post") == (name in POST_ONLY)


def test_every_organisation_url_is_in_the_table():
    names = {
        name
        for name, _ in all_patterns()
        if name.split(":")[0] in ORGANISATION_WORK and name not in PUBLIC_ORGANISATION_URLS
    }
    assert names == set(NORTH_URLS)


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def reaches(role: str, rule: str) -> bool:
    """Whether north's member in `role` reaches a URL of this rule."""
    if rule == EVERYONE:
        return True
    if rule == NAMED:
        return role in ("admin", "trainer")
    return role == "admin"


def state(world) -> tuple:
    """What a refused request must leave as it was."""
    north = world["north"]
    roster = RosterImport.objects.get(pk=north["roster"].pk)
    return (
        roster.status,
        set(Course.objects.get(pk=north["course"].pk).trainers.values_list("pk", flat=True)),
        set(OrganisationMember.objects.values_list("pk", "role")),
        Credential.objects.count(),
    )


@pytest.mark.parametrize("who", [f"south {role}" for role in ROLES] + ["holder"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_nobody_of_another_organisation_reaches_norths_urls(world, who, method):
    """South's admin and trainers, and a holder who attended north's course: every URL
    pointing at north's organisation, course, member or roster answers 404 (or 403 where the
    page is for organisation members only: the holder); the pages without ids list nothing
    of north's; nothing changes."""
    user = world["holder"]["user"] if who == "holder" else world["south"][who.split()[1]]
    client = client_of(user)
    before = state(world)
    for name, (kwargs, _) in NORTH_URLS.items():
        url = reverse(name, kwargs=kwargs(world["north"]))
        response = getattr(client, method)(url, {"action": "remove", "role": "admin"})
        body = response.content.decode(errors="replace")
        if who == "holder":
            assert response.status_code == 403, (who, name, response.status_code)
        elif kwargs(world["north"]):
            # An organisation page finds the organisation first; a roster page the method.
            expected = 404 if name.startswith("organisations:") or takes(name, method) else 405
            assert response.status_code == expected, (who, name, response.status_code)
        else:
            assert response.status_code in (200, 302, 405), (who, name, response.status_code)
            assert "NORTH-1" not in body, (who, name)
            assert "north.csv" not in body, (who, name)
            assert "North Academy" not in body, (who, name)
    assert state(world) == before


def test_a_platform_viewer_reads_every_organisation_and_manages_none(world):
    """Platform staff keep their reach: a viewer opens every page of north that reads (its
    courses, rosters, attendees, reports) and is refused what changes it (403, or 404 for the
    roster actions a viewer's role does not reach)."""
    client = client_of(staff_in("viewer"))
    manage = {"organisations:course_trainers", "organisations:members"}
    manage |= {"organisations:member_change", "organisations:branding", "roster:upload"}
    for name, (kwargs, _) in NORTH_URLS.items():
        url = reverse(name, kwargs=kwargs(world["north"]))
        response = client.get(url)
        if name in EMPTY:
            continue
        if name in manage:
            assert response.status_code in (403, 405), (name, response.status_code)
        elif not takes(name, "get"):
            assert response.status_code in (403, 405), name
        else:
            assert response.status_code in (200, 302), (name, response.status_code)
    for name in ("roster:apply", "roster:discard", "roster:recheck"):
        response = client.post(reverse(name, args=[world["north"]["roster"].pk]))
        assert response.status_code in (403, 404), name
    assert RosterImport.objects.get(pk=world["north"]["roster"].pk).status == "validated"


@pytest.mark.parametrize("role", ROLES)
def test_norths_members_reach_what_their_role_allows(world, role):
    """North's admin reaches everything of north; its trainer named on the course reaches
    the course and the roster they uploaded, not the admin's pages (403); the other trainer
    reaches neither the course nor that roster (404)."""
    client = client_of(world["north"][role])
    for name, (kwargs, rule) in NORTH_URLS.items():
        url = reverse(name, kwargs=kwargs(world["north"]))
        response = client.get(url)
        if name in EMPTY:
            assert response.status_code in (403, 404), (role, name)
        elif not takes(name, "get"):
            assert response.status_code in (403, 405), (role, name, response.status_code)
        elif reaches(role, rule):
            assert response.status_code in (200, 302), (role, name, response.status_code)
        elif rule == ADMIN:
            assert response.status_code == 403, (role, name, response.status_code)
        else:
            assert response.status_code == 404, (role, name, response.status_code)
    # What the pages without ids list is the role's own.
    roster_history = client.get(reverse("roster:history")).content.decode()
    detail = client.get(reverse("organisations:detail", args=["north"])).content.decode()
    sees_course = role in ("admin", "trainer")
    assert ("north.csv" in roster_history) is sees_course
    assert ("NORTH-1" in detail) is sees_course
    assert "south.csv" not in roster_history
    assert "SOUTH-1" not in detail


@pytest.mark.parametrize("role", ROLES)
def test_no_organisation_role_reaches_a_holders_ledger_or_evidence(world, role):
    """The holder attended north's course and holds its credential: north's admin and
    trainers still get 404 on every page of her ledger, evidence, renewal and transcript,
    and 403 on the staff transcript and the admin's pages of her records."""
    holder = world["holder"]
    hers = {
        "entry": holder["entry"],
        "credential": holder["credential"],
        "term": holder["credential"].terms.get(),
        "renewal": None,
        "address": None,
        "api_token": None,
    }
    client = client_of(world["north"][role])
    checked = 0
    for name, kwargs in ID_URLS.items():
        try:
            url = reverse(name, kwargs=kwargs(hers))
        except AttributeError:  # an object this holder has none of (renewal, address, token)
            continue
        for method in ("get", "post"):
            response = getattr(client, method)(url, {"reason": "x"})
            assert response.status_code in (404, 405), (role, name, method)
            checked += 1
    assert checked >= 14
    for url in (
        reverse("staff:transcript", args=[holder["credential"].pk, hers["term"].pk]),
        reverse("admin:seu_ledger_entry_change", args=[holder["entry"].pk]),
        reverse("admin:seu_ledger_entry_changelist"),
        reverse("admin:credentials_credential_change", args=[holder["credential"].pk]),
    ):
        assert client.get(url).status_code == 403, (role, url)
    # The course page and the at-risk list show attendance and status, never the ledger.
    for url in (
        reverse("organisations:course", args=["north", world["north"]["course"].pk]),
        reverse("organisations:at_risk", args=["north"]) + "?all=1",
        reverse("organisations:at_risk_csv", args=["north"]) + "?all=1",
    ):
        body = client.get(url).content.decode()
        assert "Private workshop" not in body
        assert "private.pdf" not in body
    holder["entry"].refresh_from_db()
    assert holder["entry"].voided_at is None


@pytest.mark.parametrize("role", ["admin"])  # every role is a non-staff account alike
def test_no_organisation_role_reaches_the_admin(world, role):
    """Organisation members are not staff: every admin page answers 403."""
    client = client_of(world["north"][role])
    checked = 0
    for name, pattern in STAFF_URLS:
        if not name.startswith("admin:") or name in ("admin:login", "admin:logout"):
            continue
        response = client.get(sample_url(name, pattern))
        assert response.status_code == 403, (role, name, response.status_code)
        checked += 1
    assert checked > 100


# An organisation admin: the role with the most reach; a token is a holder's whatever the role.
@pytest.mark.parametrize("role", ["admin"])
@pytest.mark.parametrize("route", sorted(ROUTES), ids=lambda r: f"{r[1]} {r[0]}")
def test_an_organisation_members_api_token_reaches_only_their_own_records(
    world, request, role, route
):
    """With a personal token, an organisation member is a holder like any other: staff
    routes answer 403, another holder's records 404, their own lists hold only their own."""
    api_objects = request.getfixturevalue("objects")
    name, method = route
    rule, kwargs, body, allowed_status = ROUTES[route]
    caller = Caller(Client(), personal(world["north"][role]), role)
    url = reverse(name, kwargs=kwargs(api_objects) if kwargs else None)
    data = body(api_objects) if body else None
    response = getattr(caller, method)(url, data) if method != "get" else caller.get(url)
    if rule in (PUBLIC, ANY):
        expected = allowed_status
    elif rule == HOLDER:
        expected = 404 if kwargs else allowed_status
    else:
        expected = 403
    assert response.status_code == expected, (role, name, method, response.content[:300])
    if rule == HOLDER and method == "get" and not kwargs:
        listed = response.json()["results"]
        assert all("holder@example.com" not in str(row) for row in listed)
        assert all("a@example.com" not in str(row) for row in listed)
    if name == "api:holder-list" or name.startswith("api:roster"):
        assert response.status_code == 403
    assert Scope  # the token is personal: no scope reaches a staff route
