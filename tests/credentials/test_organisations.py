"""Training organisations: what each role reaches (the selector layer), rosters scoped to an
organisation and its trainers, members, the at-risk list, and the branding holders see."""

import datetime
import io
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from PIL import Image
from pypdf import PdfReader

from credentials.accounts import invitations_send
from credentials.models import (
    Attendance,
    Course,
    Credential,
    Invitation,
    OrganisationMember,
    RosterImport,
    User,
)
from credentials.organisations import (
    at_risk_rows,
    attendances_visible_to,
    course_trainers_set,
    courses_visible_to,
    organisation_branding_update,
    organisation_logo_check,
    organisation_member_add,
    organisation_member_remove,
    organisation_member_role_set,
    organisations_visible_to,
    roster_imports_visible_to,
)
from credentials.roster.imports import roster_import_apply, roster_import_check, roster_import_queue
from credentials.services import credential_issue
from seu_ledger.transcript import transcript_pdf
from tests.factories import (
    UserFactory,
    cspo_course,
    member_of,
    organisation,
    program,
    staff_in,
)

pytestmark = pytest.mark.django_db

HEADER = (
    "email,first_name,last_name,course_code,program,start_date,end_date,hours_attended,completed"
)


def csv_bytes(*rows) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


def png_bytes(size=(800, 200), colour=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def two_orgs():
    """Organisations A and B, each with an admin and two trainers; a course of each naming
    its first trainer, with one attendee; a platform course of no organisation."""
    north, south = organisation("north"), organisation("south")
    people = {
        "north_admin": member_of(north, "admin", email="admin@north.example"),
        "north_t1": member_of(north, email="t1@north.example"),
        "north_t2": member_of(north, email="t2@north.example"),
        "south_admin": member_of(south, "admin", email="admin@south.example"),
        "south_t1": member_of(south, email="t1@south.example"),
    }
    north_course = cspo_course("N-1", organisation=north)
    north_course.trainers.add(people["north_t1"])
    south_course = cspo_course("S-1", organisation=south)
    south_course.trainers.add(people["south_t1"])
    platform_course = cspo_course("P-1")
    holder = UserFactory(email="ann@example.com")
    for course in (north_course, south_course, platform_course):
        Attendance.objects.create(holder=holder, course=course, hours_attended=16, completed=True)
    return {
        "north": north,
        "south": south,
        "north_course": north_course,
        "south_course": south_course,
        "platform_course": platform_course,
        "holder": holder,
        **people,
    }


# --- The selector layer -------------------------------------------------------------------


def test_each_role_reaches_only_its_own_courses_and_attendances(two_orgs):
    o = two_orgs
    codes = {
        "north_admin": {"N-1"},
        "north_t1": {"N-1"},
        "north_t2": set(),  # a trainer the course does not name
        "south_admin": {"S-1"},
        "south_t1": {"S-1"},
    }
    for who, expected in codes.items():
        user = o[who]
        assert {c.code for c in courses_visible_to(user)} == expected, who
        assert {a.course.code for a in attendances_visible_to(user)} == expected, who
    assert not courses_visible_to(o["holder"]).exists()
    assert not courses_visible_to(UserFactory()).exists()
    for role in ("viewer", "registrar", "superuser"):
        staff = staff_in(role)
        assert {c.code for c in courses_visible_to(staff)} == {"N-1", "S-1", "P-1"}
        assert organisations_visible_to(staff).count() == 2
    # Staff without a role are not platform staff for organisations.
    assert not courses_visible_to(staff_in("")).exists()
    assert {org.slug for org in organisations_visible_to(o["north_t2"])} == {"north"}


def test_roster_imports_reach_the_uploader_the_organisation_admin_and_staff(two_orgs):
    o = two_orgs
    data = csv_bytes("bob@example.com,Bob,Baker,N-1,CSPO,2025-11-03,2025-11-04,16,yes")
    record = roster_import_check(
        data=data, name="n.csv", uploaded_by=o["north_t1"], organisation=o["north"]
    )
    platform = roster_import_check(data=data, name="p.csv", uploaded_by=None)
    reach = {
        "north_t1": {record.pk},
        "north_admin": {record.pk},
        "north_t2": set(),
        "south_admin": set(),
        "south_t1": set(),
        "holder": set(),
    }
    for who, expected in reach.items():
        assert set(roster_imports_visible_to(o[who]).values_list("pk", flat=True)) == expected
    assert set(roster_imports_visible_to(staff_in("viewer")).values_list("pk", flat=True)) == {
        record.pk,
        platform.pk,
    }
    # A trainer who left the organisation no longer reaches what they uploaded there.
    OrganisationMember.objects.filter(user=o["north_t1"]).delete()
    user = User.objects.get(pk=o["north_t1"].pk)
    assert not roster_imports_visible_to(user).exists()


# --- Rosters scoped to an organisation ------------------------------------------------------


def check(org, user, *rows) -> RosterImport:
    return roster_import_check(
        data=csv_bytes(*rows), name="roster.csv", uploaded_by=user, organisation=org
    )


def errors_of(record) -> set[tuple[int, str, str]]:
    return {(e["line"], e["column"], e["message"]) for e in record.errors}


def test_a_row_naming_another_organisations_course_is_an_error_of_its_line(two_orgs):
    o = two_orgs
    record = check(
        o["north"],
        o["north_t1"],
        "bob@example.com,Bob,Baker,N-1,CSPO,2025-11-03,2025-11-04,16,yes",
        "cy@example.com,Cy,Cole,S-1,CSPO,2025-11-03,2025-11-04,16,yes",
        "dee@example.com,Dee,Dale,p-1,CSPO,2025-11-03,2025-11-04,16,yes",  # any letter case
    )
    errors = errors_of(record)
    lines = {(line, column) for line, column, _ in errors}
    assert lines == {(3, "course_code"), (4, "course_code")}
    messages = {line: message for line, _, message in errors}
    assert "S-1 is not a course of North Academy" in messages[3]
    assert "P-1 is not a course of North Academy" in messages[4]
    assert "South" not in messages[3]  # nothing said about the other organisation
    assert record.totals["valid_rows"] == 1


def test_a_trainer_names_only_courses_that_name_them_and_an_admin_any_of_theirs(two_orgs):
    o = two_orgs
    row = "bob@example.com,Bob,Baker,N-1,CSPO,2025-11-03,2025-11-04,16,yes"
    refused = check(o["north"], o["north_t2"], row)
    assert {(line, column) for line, column, _ in errors_of(refused)} == {(2, "course_code")}
    assert "does not name you as its trainer" in refused.errors[0]["message"]
    assert refused.status == RosterImport.Status.REJECTED
    assert not check(o["north"], o["north_admin"], row).errors
    assert not check(o["north"], o["north_t1"], row).errors
    # Platform staff uploading for an organisation have its admin's reach.
    assert not check(o["north"], staff_in("registrar"), row).errors


def apply_import(record) -> RosterImport:
    roster_import_queue(record=record, only_valid_rows=True)
    return roster_import_apply(import_id=record.pk)


def test_a_trainers_roster_creates_the_organisations_course_naming_them(two_orgs):
    o = two_orgs
    record = check(
        o["north"],
        o["north_t2"],
        "new@example.com,New,Person,n-2,CSPO,2025-11-10,2025-11-11,16,yes",
    )
    assert not record.errors
    done = apply_import(record)
    assert done.status == RosterImport.Status.DONE
    course = Course.objects.get(code="N-2")
    assert course.organisation == o["north"]
    assert list(course.trainers.all()) == [o["north_t2"]]
    assert {c.code for c in courses_visible_to(o["north_t2"])} == {"N-2"}
    assert "N-2" not in {c.code for c in courses_visible_to(o["north_t1"])}
    assert "N-2" in {c.code for c in courses_visible_to(o["north_admin"])}
    assert not courses_visible_to(o["south_admin"]).filter(code="N-2").exists()
    credential = Credential.objects.get(holder__email="new@example.com")
    assert credential.source_course == course
    # An admin's roster creates a course naming no trainer (the admin names them).
    apply_import(
        check(
            o["north"],
            o["north_admin"],
            "new@example.com,New,Person,N-3,CSM,2025-11-10,2025-11-11,16,yes",
        )
    )
    assert Course.objects.get(code="N-3").organisation == o["north"]
    assert not Course.objects.get(code="N-3").trainers.exists()


def test_an_organisations_roster_never_renames_a_holder(two_orgs):
    o = two_orgs
    record = check(
        o["north"],
        o["north_t1"],
        f"{o['holder'].email},Someone,Else,N-1,CSPO,2025-11-03,2025-11-04,16,yes",
    )
    assert not record.errors
    apply_import(record)
    holder = User.objects.get(pk=o["holder"].pk)
    assert (holder.first_name, holder.last_name) == (o["holder"].first_name, o["holder"].last_name)
    # A platform roster still corrects names, as before.
    apply_import(
        roster_import_check(
            data=csv_bytes(f"{holder.email},Someone,Else,P-1,CSPO,2025-11-03,2025-11-04,16,yes"),
            name="p.csv",
            uploaded_by=None,
        )
    )
    assert User.objects.get(pk=holder.pk).first_name == "Someone"


def test_a_trainer_who_left_before_the_import_ran_writes_nothing(two_orgs):
    o = two_orgs
    record = check(
        o["north"], o["north_t1"], "bob@example.com,Bob,Baker,N-1,CSPO,2025-11-03,2025-11-04,16,yes"
    )
    assert not record.errors
    OrganisationMember.objects.filter(user=o["north_t1"]).delete()
    roster_import_queue(record=record, only_valid_rows=True)
    roster_import_apply(import_id=record.pk)
    assert not User.objects.filter(email="bob@example.com").exists()


def test_an_organisations_roster_sends_its_branded_invitation(two_orgs, settings):
    o = two_orgs
    organisation_branding_update(
        organisation=o["north"],
        reply_to="courses@north.example",
        website="https://north.example",
        logo=png_bytes(),
    )
    record = check(
        o["north"], o["north_t1"], "bob@example.com,Bob,Baker,N-1,CSPO,2025-11-03,2025-11-04,16,yes"
    )
    apply_import(record)
    invitation = Invitation.objects.get(holder__email="bob@example.com")
    assert invitation.organisation == o["north"]
    mail.outbox.clear()
    invitations_send(invitation_ids=[invitation.pk])
    (message,) = mail.outbox
    assert message.reply_to == ["courses@north.example"]
    assert "(North Academy)" in message.subject
    assert "North Academy registered you" in message.body
    assert "reaches North Academy (https://north.example)" in message.body
    html = message.alternatives[0][0]
    logo = reverse("organisations:logo", args=["north"])
    assert f'src="http://testserver{logo}?v=1"' in html
    # A platform roster's invitation is the plain one.
    apply_import(
        roster_import_check(
            data=csv_bytes("cy@example.com,Cy,Cole,P-1,CSPO,2025-11-03,2025-11-04,16,yes"),
            name="p.csv",
            uploaded_by=None,
        )
    )
    mail.outbox.clear()
    invitations_send(invitation_ids=[Invitation.objects.get(holder__email="cy@example.com").pk])
    assert mail.outbox[0].reply_to == []
    assert "Your trainer registered you" in mail.outbox[0].body


# --- Members and trainers -------------------------------------------------------------------


def test_adding_a_member_registers_and_invites_someone_new_under_the_organisations_name(
    two_orgs,
):
    o = two_orgs
    member = organisation_member_add(
        organisation=o["north"],
        email=" New.Trainer@North.Example ",
        role="trainer",
        first_name="New",
        last_name="Trainer",
        added_by=o["north_admin"],
    )
    assert member.user.email == "new.trainer@north.example"
    assert member.user.state == User.State.INVITED
    assert Invitation.objects.get(holder=member.user).organisation == o["north"]
    # An existing account is not the organisation's to claim (its provider could then sign in
    # as them): an organisation admin is refused; platform staff add it.
    UserFactory(email="pat@south.example")
    with pytest.raises(ValidationError) as refused:
        organisation_member_add(
            organisation=o["south"],
            email="PAT@south.example",
            role="admin",
            added_by=o["south_admin"],
        )
    assert "Platform staff add existing accounts" in str(refused.value.message_dict["email"])
    registrar = staff_in("registrar")
    existing = organisation_member_add(
        organisation=o["south"], email="ANN@example.com", role="admin", added_by=registrar
    )
    assert existing.user == o["holder"]
    with pytest.raises(ValidationError) as refused:
        organisation_member_add(
            organisation=o["south"], email="ann@example.com", role="trainer", added_by=registrar
        )
    assert "already a member of South Academy" in str(refused.value.message_dict["email"])
    # Staff accounts are never members.
    with pytest.raises(ValidationError) as refused:
        organisation_member_add(
            organisation=o["south"], email=registrar.email, role="trainer", added_by=registrar
        )
    assert "Staff accounts are not members" in str(refused.value.message_dict["email"])
    with pytest.raises(ValidationError) as refused:
        organisation_member_add(organisation=o["south"], email="x@example.com", role="owner")
    assert "role" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        organisation_member_add(organisation=o["south"], email="not an address", role="trainer")
    assert "email" in refused.value.message_dict


def test_the_last_admin_stays_and_a_removed_member_is_no_longer_a_trainer(two_orgs):
    o = two_orgs
    admin = OrganisationMember.objects.get(user=o["south_admin"])
    with pytest.raises(ValidationError, match="at least one organisation admin"):
        organisation_member_role_set(member=admin, role="trainer")
    with pytest.raises(ValidationError, match="at least one organisation admin"):
        organisation_member_remove(member=admin)
    trainer = OrganisationMember.objects.get(user=o["south_t1"])
    organisation_member_role_set(member=trainer, role="admin")  # two admins
    organisation_member_role_set(member=admin, role="trainer")  # one: the former trainer
    with pytest.raises(ValidationError, match="at least one organisation admin"):
        organisation_member_remove(member=trainer)
    organisation_member_role_set(member=admin, role="admin")
    organisation_member_remove(member=trainer)
    assert not o["south_course"].trainers.exists()
    assert not courses_visible_to(User.objects.get(pk=o["south_t1"].pk)).exists()


def test_a_course_names_only_members_of_its_organisation_as_trainers(two_orgs):
    o = two_orgs
    course_trainers_set(course=o["north_course"], user_ids=[o["north_t2"].pk])
    assert list(o["north_course"].trainers.all()) == [o["north_t2"]]
    with pytest.raises(ValidationError) as refused:
        course_trainers_set(course=o["north_course"], user_ids=[o["south_t1"].pk])
    assert "trainers" in refused.value.message_dict
    assert list(o["north_course"].trainers.all()) == [o["north_t2"]]
    with pytest.raises(ValidationError):
        course_trainers_set(course=o["platform_course"], user_ids=[o["north_t1"].pk])


# --- At risk --------------------------------------------------------------------------------


def test_the_at_risk_list_holds_only_holders_the_organisation_trained(two_orgs):
    o = two_orgs
    ann = o["holder"]
    # Ann's CSPO (from the north course) ends 4 Nov 2027 (two years).
    credential_issue(
        holder=ann,
        program=program("CSPO"),
        issued_on=datetime.date(2025, 11, 4),
        source_course=o["north_course"],
    )
    stranger = UserFactory(email="zed@example.com")  # never attended a north course
    credential_issue(holder=stranger, program=program("CSPO"), issued_on=datetime.date(2025, 11, 4))
    # Bea attended a north course of CSPO but holds a CSM (another program): not listed.
    bea = UserFactory(email="bea@example.com")
    Attendance.objects.create(holder=bea, course=o["north_course"], hours_attended=4)
    credential_issue(holder=bea, program=program("CSM"), issued_on=datetime.date(2025, 11, 4))

    assert at_risk_rows(o["north"], on=datetime.date(2027, 1, 1)) == []  # active then
    everyone = at_risk_rows(o["north"], on=datetime.date(2027, 1, 1), everyone=True)
    assert [(r.email, r.program, r.status) for r in everyone] == [
        ("ann@example.com", "CSPO", "active")
    ]
    expiring = at_risk_rows(o["north"], on=datetime.date(2027, 9, 1))
    assert [(r.email, r.courses, r.status, r.days_left) for r in expiring] == [
        ("ann@example.com", "N-1", "expiring", 64)
    ]
    # The last valid day, then the day after (in grace or lapsed, as the program says).
    assert at_risk_rows(o["north"], on=datetime.date(2027, 11, 4))[0].days_left == 0
    after = at_risk_rows(o["north"], on=datetime.date(2027, 11, 5))[0]
    expected = "in_grace" if program("CSPO").grace_days else "lapsed"
    assert (after.status, after.days_left) == (expected, -1)
    # Ann attended south's course too, but her CSPO came from north's: not south's to follow.
    assert at_risk_rows(o["south"], on=datetime.date(2027, 9, 1)) == []
    assert not any(r.email == "zed@example.com" for r in everyone)
    fields = set(type(everyone[0]).__dataclass_fields__)
    assert not fields & {"units", "entries", "evidence", "units_counted"}


def test_at_risk_rows_cost_the_same_queries_for_3_or_30_holders(
    two_orgs, django_assert_max_num_queries
):
    o = two_orgs

    def add(count):
        for _ in range(count):
            holder = UserFactory()
            Attendance.objects.create(holder=holder, course=o["north_course"], completed=True)
            credential_issue(
                holder=holder,
                program=program("CSPO"),
                issued_on=datetime.date(2024, 2, 29),
                source_course=o["north_course"],
            )

    add(3)
    with django_assert_max_num_queries(2):
        assert len(at_risk_rows(o["north"], everyone=True)) == 3
    add(27)
    with django_assert_max_num_queries(2):
        assert len(at_risk_rows(o["north"], everyone=True)) == 30


# --- Branding holders see -------------------------------------------------------------------


def test_a_logo_is_checked_scaled_and_stored_as_png():
    stored = organisation_logo_check(png_bytes((1600, 400)))
    with Image.open(io.BytesIO(stored)) as image:
        assert (image.format, image.size) == ("PNG", (400, 100))
    jpeg = io.BytesIO()
    Image.new("RGB", (100, 100)).save(jpeg, format="JPEG")
    assert organisation_logo_check(jpeg.getvalue()).startswith(b"\x89PNG")
    for bad, message in [
        (b"<svg onload='alert(1)'></svg>", "not a PNG or JPEG"),
        (b"GIF89a" + b"\0" * 100, "not a PNG or JPEG"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 50, "not a PNG or JPEG"),
        (png_bytes()[:2_000_000] + b"\0" * (1024 * 1024), "at most 1 MB"),
    ]:
        with pytest.raises(ValidationError, match=message):
            organisation_logo_check(bad)


def test_the_logo_is_served_publicly_as_png_and_cached_by_version(client, two_orgs):
    url = reverse("organisations:logo", args=["north"])
    assert client.get(url).status_code == 404  # no logo yet
    organisation_branding_update(
        organisation=two_orgs["north"], reply_to="", website="", logo=png_bytes()
    )
    response = client.get(f"{url}?v=1")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert "immutable" in response["Cache-Control"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert client.get(url)["Cache-Control"] == "public, max-age=300"


def test_holders_see_which_organisation_trained_them(client, two_orgs):
    o = two_orgs
    organisation_branding_update(
        organisation=o["north"], reply_to="", website="https://north.example", logo=png_bytes()
    )
    record = check(
        o["north"], o["north_t1"], "bob@example.com,Bob,Baker,N-1,CSPO,2025-11-03,2025-11-04,16,yes"
    )
    apply_import(record)
    credential = Credential.objects.get(holder__email="bob@example.com")
    bob = credential.holder
    # The public verification page and its data.
    page = client.get(reverse("credentials:verify", args=[credential.verification_code]))
    html = page.content.decode()
    assert 'Trained by <a href="https://north.example"' in html
    assert "North Academy</a>" in html
    assert f"{reverse('organisations:logo', args=['north'])}?v=1" in html
    data = client.get(reverse("credentials:verify_json", args=[credential.verification_code]))
    assert data.json()["trained_by"] == {
        "name": "North Academy",
        "website": "https://north.example",
    }
    # The holder's dashboard.
    bob.licence_accepted_at = bob.date_joined
    bob.save()
    client.force_login(bob)
    with time_machine.travel(datetime.date(2026, 1, 10)):
        dashboard = client.get(reverse("ledger:dashboard")).content.decode()
    assert "trained by North Academy" in dashboard
    # The transcript's course lines.
    term = credential.terms.get()
    with time_machine.travel(datetime.date(2026, 1, 10)):
        pdf = transcript_pdf(credential=credential, term=term)
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "trained by North Academy" in " ".join(text.split())
    # A credential of a platform course says nothing of the kind.
    plain = credential_issue(
        holder=bob,
        program=program("CSM"),
        issued_on=datetime.date(2025, 11, 4),
        source_course=o["platform_course"],
    )
    page = client.get(reverse("credentials:verify", args=[plain.verification_code]))
    assert "Trained by" not in page.content.decode()
    assert (
        client.get(reverse("credentials:verify_json", args=[plain.verification_code])).json()[
            "trained_by"
        ]
        is None
    )


# --- Organisation pages ---------------------------------------------------------------------


def test_a_trainer_sees_their_course_attendees_completion_and_credential(client, two_orgs):
    o = two_orgs
    credential_issue(
        holder=o["holder"],
        program=program("CSPO"),
        issued_on=datetime.date(2025, 11, 4),
        source_course=o["north_course"],
    )
    client.force_login(o["north_t1"])
    assert client.get(reverse("organisations:list"))["Location"] == reverse(
        "organisations:detail", args=["north"]
    )
    page = client.get(reverse("organisations:detail", args=["north"])).content.decode()
    assert "N-1" in page
    assert "S-1" not in page
    assert "P-1" not in page
    course = client.get(reverse("organisations:course", args=["north", o["north_course"].pk]))
    html = course.content.decode()
    assert "ann@example.com" in html
    assert "Issued" in html
    assert "Trainers of this course" not in html  # the admin's form
    export = client.get(
        reverse("organisations:course_attendees_csv", args=["north", o["north_course"].pk])
    )
    assert export.content.decode().splitlines()[1].endswith("ann@example.com,16,yes,yes")
    # Admin pages are the organisation admin's.
    for name in ("members", "branding", "at_risk", "at_risk_csv"):
        assert client.get(reverse(f"organisations:{name}", args=["north"])).status_code == 403


def test_an_organisation_admin_manages_members_and_trainers_on_its_pages(client, two_orgs):
    o = two_orgs
    client.force_login(o["north_admin"])
    members = reverse("organisations:members", args=["north"])
    response = client.post(
        members,
        {"email": "t3@north.example", "first_name": "Tia", "last_name": "Three", "role": "trainer"},
    )
    assert response.status_code == 302
    new = User.objects.get(email="t3@north.example")
    again = client.post(members, {"email": "T3@north.example", "role": "trainer"})
    assert "Platform staff add existing accounts" in again.content.decode()
    url = reverse("organisations:course_trainers", args=["north", o["north_course"].pk])
    client.post(url, {"trainers": [o["north_t1"].pk, new.pk]})
    assert set(o["north_course"].trainers.all()) == {o["north_t1"], new}
    # Another organisation's member cannot be named; nothing changes.
    client.post(url, {"trainers": [o["south_t1"].pk]})
    assert set(o["north_course"].trainers.all()) == {o["north_t1"], new}
    # Another organisation's member record answers 404.
    south_member = OrganisationMember.objects.get(user=o["south_t1"])
    change = reverse("organisations:member_change", args=["north", south_member.pk])
    assert client.post(change, {"action": "remove"}).status_code == 404
    assert OrganisationMember.objects.filter(pk=south_member.pk).exists()


@pytest.mark.parametrize("rows", [2, 20])
def test_organisation_pages_cost_the_same_queries_whatever_their_rows(
    client, two_orgs, rows, django_assert_max_num_queries
):
    o = two_orgs
    for n in range(rows):
        course = cspo_course(f"N-X{n}", organisation=o["north"])
        course.trainers.add(o["north_t1"])
        holder = UserFactory()
        Attendance.objects.create(holder=holder, course=o["north_course"], completed=True)
        credential_issue(
            holder=holder,
            program=program("CSPO"),
            issued_on=datetime.date(2025, 11, 4),
            source_course=o["north_course"],
        )
    client.force_login(o["north_admin"])
    for url in (
        reverse("organisations:detail", args=["north"]),
        reverse("organisations:course", args=["north", o["north_course"].pk]),
        reverse("organisations:at_risk", args=["north"]) + "?all=1",
        reverse("organisations:members", args=["north"]),
        reverse("roster:history"),
    ):
        with django_assert_max_num_queries(14):
            assert client.get(url).status_code == 200, url


def test_hours_are_shown_as_attended(two_orgs):
    from credentials.organisations import course_attendees

    (row,) = course_attendees(staff_in("viewer"), two_orgs["north_course"])
    assert row.hours_attended == Decimal(16)
    assert (row.completed, row.credential_issued) == (True, False)


def test_the_dashboards_trained_by_lines_cost_one_query_for_any_number_of_credentials(
    client, two_orgs, django_assert_num_queries
):
    """Regression: each credential's line read its course and organisation on its own."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    o = two_orgs
    holder = o["holder"]
    client.force_login(holder)

    def drawn() -> int:
        from django.core.cache import caches

        caches["pages"].clear()
        with CaptureQueriesContext(connection) as done:
            assert client.get(reverse("ledger:dashboard")).status_code == 200
        return len(done)

    courses = [o["north_course"], o["south_course"], o["platform_course"]]
    codes = ["CSPO", "CSM", "A-CSM"]
    credential_issue(
        holder=holder,
        program=program(codes[0]),
        issued_on=datetime.date(2025, 11, 4),
        source_course=courses[0],
    )
    one = drawn()
    for course, code in zip(courses[1:], codes[1:], strict=True):
        credential_issue(
            holder=holder,
            program=program(code),
            issued_on=datetime.date(2025, 11, 4),
            source_course=course,
        )
    page = client.get(reverse("ledger:dashboard")).content.decode()
    assert "trained by North Academy" in page
    assert drawn() == one
