"""What a review and an attack of the training organisations found, each a test that failed
before its fix: taking over accounts through an organisation's identity provider, password
sessions that outlived the rule, roster checks that told an organisation what it may not
know, applies that wrote to another organisation's course, a hanging or hostile provider,
and pages that answered 500."""

import datetime
import http.server
import json
import socket
import threading

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from credentials.models import (
    Attendance,
    Course,
    Membership,
    OrganisationMember,
    RosterImport,
    Term,
    User,
)
from credentials.organisations import RosterScope, course_rows
from credentials.roster.apply import roster_apply
from credentials.roster.imports import (
    roster_check,
    roster_import_apply,
    roster_import_check,
    roster_import_queue,
)
from credentials.services import credential_issue
from tests.credentials.conftest import organisation_admin_form
from tests.credentials.test_oidc_sign_in import person, sign_in_through
from tests.factories import (
    DEFAULT_PASSWORD,
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


def csv(*rows, header=HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def messages_of(record) -> str:
    return " ".join(error["message"] for error in record.errors)


# --- Accounts an organisation must not be able to take -------------------------------------


def test_an_organisation_admin_cannot_enrol_an_existing_account(client):
    org = organisation("north")
    client.force_login(member_of(org, "admin"))
    boss = staff_in("superuser")
    boss.email = "boss@north.example"  # even at the organisation's own domain
    boss.save(update_fields=["email"])
    holder = UserFactory(email="someone@north.example")
    for email in (boss.email, holder.email):
        response = client.post(
            reverse("organisations:members", args=["north"]), {"email": email, "role": "trainer"}
        )
        assert "Platform staff add existing accounts" in response.content.decode()
    assert not OrganisationMember.objects.filter(user__in=[boss, holder]).exists()


def test_the_provider_never_signs_in_a_staff_account(client, idp, north):
    email = person(idp)
    staff = staff_in("registrar")
    staff.email = email
    staff.save(update_fields=["email"])
    OrganisationMember.objects.create(organisation=north, user=staff)  # as data could hold
    response = sign_in_through(client, idp, "north", email)
    assert response.status_code == 403
    assert client.session.get(SESSION_KEY) is None


def test_a_member_of_an_organisation_requiring_its_provider_cannot_use_anothers(client, idp, north):
    email = person(idp)
    member = member_of(north, email=email)
    strict = organisation(
        "strict", oidc_issuer="https://idp.strict.example", oidc_client_id="x", oidc_required=True
    )
    OrganisationMember.objects.create(organisation=strict, user=member)
    response = sign_in_through(client, idp, "north", email)
    assert response.status_code == 403
    assert "sign in through Strict Academy" in response.content.decode()
    assert client.session.get(SESSION_KEY) is None


def test_joining_an_organisation_that_requires_its_provider_ends_password_sessions():
    strict = organisation(
        "strict", oidc_issuer="https://idp.strict.example", oidc_client_id="x", oidc_required=True
    )
    holder = UserFactory()
    browser = Client()
    assert (
        browser.post(
            reverse("login"), {"username": holder.email, "password": DEFAULT_PASSWORD}
        ).status_code
        == 302
    )
    assert browser.get(reverse("ledger:dashboard")).status_code == 200
    OrganisationMember.objects.create(organisation=strict, user=holder)  # platform staff did
    response = browser.get(reverse("ledger:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- Rosters: what an organisation may not know or write -------------------------------------


def test_a_viewer_who_trains_somewhere_cannot_act_on_the_platforms_rosters(client):
    platform = roster_import_check(
        data=csv("zed@example.com,Zed,Z,PLAT-1,CSPO,2025-11-03,2025-11-04,16,no"),
        name="p.csv",
        uploaded_by=staff_in("registrar"),
    )
    viewer = staff_in("viewer")
    OrganisationMember.objects.create(organisation=organisation("tiny"), user=viewer)
    client.force_login(viewer)
    for name in ("roster:discard", "roster:apply", "roster:recheck"):
        assert client.post(reverse(name, args=[platform.pk])).status_code == 404, name
    assert client.get(reverse("roster:detail", args=[platform.pk])).status_code == 200
    platform.refresh_from_db()
    assert platform.status == RosterImport.Status.VALIDATED


def test_an_organisations_roster_check_tells_nothing_of_other_accounts():
    org = organisation("north")
    trainer = member_of(org)
    stranger = UserFactory(email="stranger@example.com")
    Membership.objects.create(
        holder=stranger, issuer=program("CSPO").issuer, member_id="SA-PRIVATE-991"
    )
    staff = staff_in("viewer")
    gone = UserFactory(email="gone@example.com", state=User.State.DEACTIVATED)
    record = roster_import_check(
        data=csv(
            "stranger@example.com,S,T,NEW-1,CSPO,2025-11-03,2025-11-04,16,yes,guess",
            f"{staff.email},A,B,NEW-1,CSPO,2025-11-03,2025-11-04,16,no,",
            f"{gone.email},C,D,NEW-1,CSPO,2025-11-03,2025-11-04,16,no,",
            header=HEADER + ",member_id",
        ),
        name="r.csv",
        uploaded_by=trainer,
        organisation=org,
    )
    said = messages_of(record)
    assert "SA-PRIVATE-991" not in said
    assert "staff account" not in said
    assert "deactivated" not in said
    assert said.count("cannot be put on an organisation's roster") == 2
    for private in ("new_holders", "credentials_to_issue", "unchanged_rows"):
        assert private not in record.totals
    roster_import_queue(record=record, only_valid_rows=True)
    roster_import_apply(import_id=record.pk)
    # No member id is recorded by an organisation's roster.
    assert list(Membership.objects.filter(holder=stranger).values_list("member_id", flat=True)) == [
        "SA-PRIVATE-991"
    ]


def test_an_apply_leaves_a_course_another_organisation_made_since_the_check():
    north, south = organisation("north"), organisation("south")
    data = (
        b"email,first_name,last_name,course_code,course_title,trainer,start_date,end_date,"
        b"hours_attended,completed\n"
        b"bob@example.com,Bob,B,X-1,North title,Norma,2025-10-01,2025-10-02,16,yes\n"
    )
    report = roster_check(data, scope=RosterScope(north.pk, north.name))
    assert not report.errors
    theirs = cspo_course("X-1", organisation=south, title="South title", trainer="Sam")
    ann = UserFactory(email="ann@example.com")
    credential = credential_issue(
        holder=ann, program=program("CSPO"), issued_on=theirs.end_date, source_course=theirs
    )
    summary = roster_apply(report, batch_size=100)
    theirs.refresh_from_db()
    assert (theirs.title, theirs.trainer, theirs.start_date) == (
        "South title",
        "Sam",
        datetime.date(2025, 11, 3),
    )
    assert Term.objects.get(credential=credential).starts_on == datetime.date(2025, 11, 4)
    assert not User.objects.filter(email="bob@example.com").exists()
    assert summary["rows_out_of_reach"] == 1


def test_an_apply_does_not_write_to_a_colleagues_course_made_meanwhile():
    org = organisation("north")
    a, b = member_of(org), member_of(org)
    report = roster_check(
        csv("bob@example.com,Bob,B,N-9,CSPO,2025-11-03,2025-11-04,16,no"),
        scope=RosterScope(org.pk, org.name, trainer_id=a.pk),
    )
    theirs = cspo_course("N-9", organisation=org)
    theirs.trainers.add(b)
    roster_apply(report, batch_size=100)
    assert not Attendance.objects.filter(course=theirs).exists()
    assert list(theirs.trainers.all()) == [b]


def test_rows_refused_when_the_roster_is_applied_are_said(client):
    org = organisation("north")
    trainer = member_of(org)
    record = roster_import_check(
        data=csv("zed@example.com,Zed,Z,Q-1,CSPO,2025-11-03,2025-11-04,16,no"),
        name="r.csv",
        uploaded_by=trainer,
        organisation=org,
    )
    roster_import_queue(record=record, only_valid_rows=False)
    OrganisationMember.objects.filter(user=trainer).delete()
    record = roster_import_apply(import_id=record.pk)
    assert record.status == RosterImport.Status.DONE
    assert "no longer a member of North Academy" in messages_of(record)
    client.force_login(staff_in("viewer"))
    page = client.get(reverse("roster:detail", args=[record.pk])).content.decode()
    assert "Rows skipped for their problems" in page


def test_an_organisations_roster_never_moves_a_stored_course_or_its_credentials():
    org = organisation("north")
    admin = member_of(org, "admin")
    course = cspo_course("N-1", organisation=org)
    ann = UserFactory(email="ann@example.com")
    credential = credential_issue(
        holder=ann, program=program("CSPO"), issued_on=course.end_date, source_course=course
    )
    record = roster_import_check(
        data=csv("cy@example.com,Cy,C,N-1,CSPO,2028-11-01,2028-11-02,16,no"),
        name="r.csv",
        uploaded_by=admin,
        organisation=org,
    )
    assert "Course N-1 is stored as running" in messages_of(record)
    assert record.status == RosterImport.Status.REJECTED
    credential.refresh_from_db()
    assert credential.issued_on == datetime.date(2025, 11, 4)


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("ＳＯＵＴＨ-１", "is not a course of North Academy"),  # fullwidth: the same code
        ("SOUTH\u200b-1", "without spaces, line breaks or invisible characters"),
        ("NL\nCODE", "without spaces, line breaks or invisible characters"),
        ("RTL\u202eX", "without spaces, line breaks or invisible characters"),
        ("HANGUL\u3164FILLER", "without spaces, line breaks or invisible characters"),
        ("CGJ\u034fX", "without spaces, line breaks or invisible characters"),
        ("BRAILLE\u2800X", "without spaces, line breaks or invisible characters"),
    ],
)
def test_course_codes_are_compared_in_one_form_and_refused_with_hidden_characters(code, problem):
    north, south = organisation("north"), organisation("south")
    cspo_course("SOUTH-1", organisation=south)
    quoted = '"' + code + '"'
    record = roster_import_check(
        data=csv(f"bob@example.com,Bob,B,{quoted},CSPO,2025-11-03,2025-11-04,16,no"),
        name="r.csv",
        uploaded_by=member_of(north),
        organisation=north,
    )
    assert problem in messages_of(record)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("course_title", "URGENT: log in at https://evil.example/login"),
        ("trainer", "Support desk www.evil.example"),
    ],
)
def test_course_titles_and_trainers_carry_no_web_address_into_invitations(column, value):
    header = HEADER + f",{column}"
    record = roster_import_check(
        data=csv(
            f'bob@example.com,Bob,B,NEW-1,CSPO,2025-11-03,2025-11-04,16,no,"{value}"', header=header
        ),
        name="r.csv",
        uploaded_by=None,
    )
    assert "No web addresses here" in messages_of(record)
    assert record.status == RosterImport.Status.REJECTED


# --- Pages that answered 500 or counted wrong -------------------------------------------------


def test_course_counts_do_not_multiply_attendees_by_credentials():
    org = organisation("north")
    course = cspo_course("N-1", organisation=org)
    for email in ("a@example.com", "b@example.com"):
        holder = UserFactory(email=email)
        Attendance.objects.create(holder=holder, course=course, completed=True, hours_attended=16)
        credential_issue(
            holder=holder, program=program("CSPO"), issued_on=course.end_date, source_course=course
        )
    (row,) = course_rows(staff_in("viewer"), org)
    assert (row.attendee_count, row.completed_count, row.issued_count) == (2, 2, 2)


def test_an_export_of_a_course_with_an_odd_code_and_odd_form_values_answer_no_500(client):
    org = organisation("north")
    course = cspo_course('NL\nQ"X', organisation=org)
    client.force_login(member_of(org, "admin"))
    response = client.get(reverse("organisations:course_attendees_csv", args=["north", course.pk]))
    assert response.status_code == 200
    assert "\n" not in response["Content-Disposition"]
    response = client.post(
        reverse("organisations:course_trainers", args=["north", course.pk]),
        {"trainers": ["99999999999999999999999"]},
    )
    assert response.status_code == 302
    assert client.put(reverse("organisations:members", args=["north"])).status_code == 405
    assert client.delete(reverse("organisations:branding", args=["north"])).status_code == 405


def test_platform_viewers_read_an_organisations_reports_but_manage_nothing(client):
    org = organisation("north")
    client.force_login(staff_in("viewer"))
    assert client.get(reverse("organisations:at_risk", args=["north"])).status_code == 200
    assert client.get(reverse("organisations:at_risk_csv", args=["north"])).status_code == 200
    assert client.get(reverse("organisations:members", args=["north"])).status_code == 403
    assert org.slug in client.get(reverse("organisations:list")).content.decode()


def test_removing_a_member_in_the_admin_unnames_them_from_its_courses(client):
    org = organisation("north")
    trainer = member_of(org)
    course = cspo_course("N-1", organisation=org)
    course.trainers.add(trainer)
    member = OrganisationMember.objects.get(user=trainer)
    client.force_login(staff_in("superuser"))
    form = organisation_admin_form(org, member, **{"members-0-DELETE": "on"})
    response = client.post(reverse("admin:credentials_organisation_change", args=[org.pk]), form)
    assert response.status_code == 302
    assert not course.trainers.exists()


# --- A hanging or hostile provider ------------------------------------------------------------


@pytest.fixture
def discovery_server():
    """A local server answering every GET with the JSON document set on it."""
    state = {"document": {}}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the standard library's name
            if state.get("redirect"):
                self.send_response(302)
                self.send_header("Location", state["redirect"])
                self.end_headers()
                return
            body = json.dumps(state["document"]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()


def test_an_incomplete_discovery_document_is_a_refusal_not_a_500(client, discovery_server):
    discovery_server["document"] = {"issuer": discovery_server["url"]}
    org = organisation("odd", oidc_issuer=discovery_server["url"], oidc_client_id="x")
    response = client.get(reverse("oidc_start", args=[org.slug]))
    assert response.status_code == 502
    assert "discovery document is incomplete" in response.content.decode()


def test_a_provider_pointing_the_server_at_a_private_address_is_refused(
    client, discovery_server, settings
):
    url = discovery_server["url"]
    discovery_server["document"] = {
        "issuer": url,
        "authorization_endpoint": f"{url}/authorize",
        "token_endpoint": "http://127.0.0.1:8097/internal/admin",
        "jwks_uri": f"{url}/jwks",
    }
    org = organisation("odd", oidc_issuer=url, oidc_client_id="x")
    settings.OIDC_ALLOW_PRIVATE_ADDRESSES = False
    response = client.get(reverse("oidc_start", args=[org.slug]))
    assert response.status_code == 502
    assert "not on the public internet" in response.content.decode()
    settings.OIDC_ALLOW_HTTP = False
    response = client.get(reverse("oidc_start", args=[org.slug]))
    assert "not https" in response.content.decode()


def test_a_provider_that_never_answers_is_a_refusal(client, monkeypatch):
    monkeypatch.setattr("credentials.oidc.TIMEOUT", (1, 1))  # seconds: the shape, not the wait
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    try:
        port = listener.getsockname()[1]
        org = organisation("hang", oidc_issuer=f"http://127.0.0.1:{port}", oidc_client_id="x")
        response = client.get(reverse("oidc_start", args=[org.slug]))
    finally:
        listener.close()
    assert response.status_code == 502
    assert "it did not answer" in response.content.decode()


def test_sign_in_starts_are_rate_limited_per_address(client, settings):
    settings.OIDC_START_RATE = "3/m"
    org = organisation("none")
    statuses = [client.get(reverse("oidc_start", args=[org.slug])).status_code for _ in range(4)]
    assert statuses[-1] == 429


def test_a_provider_naming_a_private_token_endpoint_or_redirecting_is_refused(
    client, discovery_server, settings, monkeypatch
):
    """The issuer is public here (as the check sees it); the document sends the server's
    token request to a private address, or answers with a redirect there."""
    url = discovery_server["url"]
    monkeypatch.setattr("credentials.oidc.private_host", lambda host: host == "127.0.0.2")
    settings.OIDC_ALLOW_PRIVATE_ADDRESSES = False
    discovery_server["document"] = {
        "issuer": url,
        "authorization_endpoint": f"{url}/authorize",
        "token_endpoint": "http://127.0.0.2:8097/internal/admin",
        "jwks_uri": f"{url}/jwks",
    }
    org = organisation("odd", oidc_issuer=url, oidc_client_id="x")
    response = client.get(reverse("oidc_start", args=[org.slug]))
    assert response.status_code == 502
    assert "its token endpoint: its address is not on the public internet" in (
        response.content.decode()
    )
    discovery_server["redirect"] = "http://127.0.0.2:8097/latest/meta-data/"
    other = organisation("other", oidc_issuer=url + "/other", oidc_client_id="x")
    response = client.get(reverse("oidc_start", args=[other.slug]))
    assert response.status_code == 502
    assert "it redirected the request elsewhere" in response.content.decode()


def test_an_unknown_provider_error_code_is_not_repeated(client, idp, north):
    response = client.get(
        reverse("oidc_callback", args=["north"]) + "?error=visit_evil_dot_com&state=x"
    )
    assert response.status_code == 403
    assert "visit_evil" not in response.content.decode()
    assert "it refused" in response.content.decode()


def test_sign_in_starts_are_counted_per_organisation(client, settings):
    settings.OIDC_START_RATE = "2/m"
    first, second = organisation("first"), organisation("second")
    for _ in range(3):
        client.get(reverse("oidc_start", args=[first.slug]))
    assert client.get(reverse("oidc_start", args=[first.slug])).status_code == 429
    assert client.get(reverse("oidc_start", args=[second.slug])).status_code != 429


def test_an_organisations_import_outcome_says_nothing_of_accounts(client):
    org = organisation("north")
    admin = member_of(org, "admin")
    UserFactory(email="known@example.com")
    record = roster_import_check(
        data=csv(
            "known@example.com,K,N,N-1,CSPO,2025-11-03,2025-11-04,16,yes",
            "new@example.com,N,E,N-1,CSPO,2025-11-03,2025-11-04,16,yes",
        ),
        name="r.csv",
        uploaded_by=admin,
        organisation=org,
    )
    roster_import_queue(record=record, only_valid_rows=True)
    roster_import_apply(import_id=record.pk)
    client.force_login(admin)
    page = client.get(reverse("roster:detail", args=[record.pk])).content.decode()
    assert "Credentials issued" in page
    assert "Holders added" not in page


def test_giving_a_membership_to_another_account_in_the_admin_forgets_the_provider_link(client):
    org = organisation("north")
    first, second = member_of(org), UserFactory()
    member = OrganisationMember.objects.get(user=first)
    member.oidc_subject = "sub-of-first"
    member.save()
    client.force_login(staff_in("superuser"))
    form = organisation_admin_form(org, member, **{"members-0-user": second.pk})
    response = client.post(reverse("admin:credentials_organisation_change", args=[org.pk]), form)
    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.user_id, member.oidc_subject) == (second.pk, "")


def test_an_organisation_admin_adds_new_people_at_its_own_domains_only():
    from django.core.exceptions import ValidationError

    from credentials.organisations import organisation_member_add

    org = organisation("north")
    admin = member_of(org, "admin")
    organisation_member_add(
        organisation=org, email="new@north.example", role="trainer", added_by=admin
    )
    # Someone's gmail address, before they ever sign up: the organisation's provider would
    # hold that account for good.
    with pytest.raises(ValidationError, match="own addresses only \\(north.example\\)"):
        organisation_member_add(
            organisation=org, email="victim@gmail.example", role="trainer", added_by=admin
        )
    org.member_domains = ""
    org.save()
    with pytest.raises(ValidationError, match="have not set your organisation's address"):
        organisation_member_add(
            organisation=org, email="other@north.example", role="trainer", added_by=admin
        )
    assert not User.objects.filter(email__in=["victim@gmail.example", "other@north.example"])


def test_stored_course_codes_are_rewritten_in_their_nfkc_form():
    import importlib

    from django.apps import apps

    migration = importlib.import_module("credentials.migrations.0021_course_codes_nfkc")
    wide = cspo_course("ＣＳＰＯ-７")
    clash = cspo_course("ＳＡＭＥ-1")
    kept = cspo_course("SAME-1")
    migration.normalise(apps, None)
    wide.refresh_from_db()
    clash.refresh_from_db()
    kept.refresh_from_db()
    assert (wide.code, clash.code, kept.code) == ("CSPO-7", "ＳＡＭＥ-1", "SAME-1")


def test_an_organisation_sees_its_attendee_as_its_roster_gave_them(client):
    """A roster naming someone's work address shows the organisation that address and the
    name it gave, never the account's own address or name (linking the two)."""
    from django.utils import timezone

    from credentials.models import EmailAddress

    org = organisation("north")
    admin = member_of(org, "admin")
    holder = UserFactory(email="private@personal.example", first_name="Real", last_name="Name")
    EmailAddress.objects.create(
        user=holder, address="alice@work.example", confirmed_at=timezone.now()
    )
    record = roster_import_check(
        data=csv("alice@work.example,Alice,Work,N-1,CSPO,2025-11-03,2025-11-04,16,yes"),
        name="r.csv",
        uploaded_by=admin,
        organisation=org,
    )
    roster_import_queue(record=record, only_valid_rows=True)
    roster_import_apply(import_id=record.pk)
    course = Course.objects.get(code="N-1")
    assert Attendance.objects.get(course=course).holder == holder
    client.force_login(admin)
    for url in (
        reverse("organisations:course", args=["north", course.pk]),
        reverse("organisations:course_attendees_csv", args=["north", course.pk]),
        reverse("organisations:at_risk", args=["north"]) + "?all=1",
    ):
        page = client.get(url).content.decode()
        assert "alice@work.example" in page, url
        assert "Alice" in page, url
        assert "private@personal.example" not in page, url
        assert "Real Name" not in page, url


def test_sign_in_starts_from_one_ipv6_network_share_their_count(settings, rf):
    from credentials.views import _client_network

    one = rf.get("/", REMOTE_ADDR="2001:db8:1:2::10")
    other = rf.get("/", REMOTE_ADDR="2001:db8:1:2:ffff::99")
    assert _client_network(one) == _client_network(other) == "2001:db8:1:2::/64"
    assert _client_network(rf.get("/", REMOTE_ADDR="192.0.2.7")) == "192.0.2.7"
