"""A holder only ever sees or changes their own records, and never a staff page.

Every URL pattern of the project, the admin's included, is enumerated from the resolver and
put in a class: holder URLs with ids answer 404 with another holder's ids, for reading and
writing; every staff URL answers 403 to a signed-in holder; signed out, holder and staff pages
send you to sign in. A new URL fails `test_every_url_of_the_project_is_classified` until it is
classified here. Every page a GET opens answers HEAD alike, without a body."""

import datetime
import re
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from api.tokens import token_create
from credentials.accounts import address_add, email_change_request
from credentials.models import User
from credentials.organisations import organisation_branding_update
from credentials.services import calendar_token_for, credential_issue
from credentials.tokens import invitation_tokens, password_tokens, sign_up_tokens
from seu_ledger.reminders.selectors import unsubscribe_token
from seu_ledger.services import credential_renew, entry_log, fee_waive
from tests.api.test_api_authorization import ROUTES as API_ROUTES
from tests.factories import UserFactory, category, organisation, program, staff_in

# A 1 x 1 PNG, an organisation's logo.
LOGO = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c"
    "6360606060000000050001a5f645400000000049454e44ae426082"
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_holders_objects():
    """Holder B's credential, term, entry (with evidence) and calendar token."""
    other = UserFactory(email="b@example.com")
    credential = credential_issue(
        holder=other, program=program("CSPO"), issued_on=datetime.date(2024, 3, 15)
    )
    entry = entry_log(
        holder=other,
        activity_date=datetime.date(2024, 6, 1),
        category=category("scrum-alliance:learning"),
        title="B's workshop",
        hours=Decimal(4),
        evidence=SimpleUploadedFile("b.pdf", b"%PDF-1.4 b"),
    )
    # Another holder's renewal (B's own credential stays as it is for the other checks).
    renewed = credential_issue(
        holder=UserFactory(email="c@example.com"),
        program=program("CSPO"),
        issued_on=datetime.date(2024, 3, 15),
    )
    for day in range(1, 4):
        entry_log(
            holder=renewed.holder,
            activity_date=datetime.date(2025, 6, day),
            category=category("scrum-alliance:learning"),
            title=f"C's day {day}",
            hours=Decimal(8),
        )
    fee_waive(credential=renewed, recorded_by=UserFactory(), reason="test")
    renewal = credential_renew(credential=renewed, on=datetime.date(2026, 3, 1)).renewals[0]
    return {
        "renewal": renewal,
        "credential": credential,
        "term": credential.terms.get(),
        "entry": entry,
        "token": calendar_token_for(other),
        "address": address_add(user=other, address="b.work@example.com"),
        "api_token": token_create(user=other, kind="personal", name="B's").token,
    }


# URL name -> the kwargs that point at holder B's objects.
ID_URLS = {
    "ledger:entry_edit": lambda o: {"pk": o["entry"].pk},
    "ledger:entry_void": lambda o: {"pk": o["entry"].pk},
    "ledger:entry_evidence": lambda o: {"pk": o["entry"].pk},
    "ledger:renewal": lambda o: {"pk": o["credential"].pk},
    "ledger:fee_submit": lambda o: {"pk": o["credential"].pk},
    "ledger:renew": lambda o: {"pk": o["credential"].pk},
    "ledger:renewed": lambda o: {"pk": o["credential"].pk, "renewal_pk": o["renewal"].pk},
    "ledger:transcript": lambda o: {"pk": o["credential"].pk, "term_pk": o["term"].pk},
    "address_remove": lambda o: {"pk": o["address"].pk},
    "badges:share": lambda o: {"pk": o["credential"].pk},
    "badges:download": lambda o: {"pk": o["credential"].pk, "fmt": "png"},
    "api_token_revoke": lambda o: {"pk": o["api_token"].pk},
}
# URLs that take a secret or a public code by design, tested in their own modules: a capability
# (the calendar feed a calendar app fetches without a session, the unsubscribe link in an email)
# or a public page (verification). Altered or unknown tokens answer 404 there.
TOKEN_URLS = {
    "credentials:calendar_feed",  # the token is the key; a wrong one is 404 (test_views)
    "credentials:verify",  # public by design
    "credentials:verify_qr",
    "credentials:verify_json",
    # Open Badges documents verifiers fetch: public by design (test_badge_views).
    "badges:issuer",
    "badges:achievement",
    "badges:achievement_image",
    "badges:status_list",
    "invitation_accept",  # signed, expiring tokens
    "sign_up_confirm",
    "email_change_confirm",  # signed, expiring; a damaged or replaced one is 400 (test_identity)
    "email_change_cancel",
    "address_confirm",  # signed, expiring; a damaged or spent one is 400 (test_merge)
    "password_reset_confirm",
    "ledger:reminders_unsubscribe",  # signed, expiring; a damaged one is 404 (test_reminders)
    # Public by design, named by an organisation's slug (test_organisations, test_oidc_sign_in).
    "organisations:logo",
    "oidc_start",
    "oidc_callback",
}
# Holder pages without an id: signed out, they send you to sign in.
HOLDER_URLS = {
    "licence",
    "account_profile",
    "account_preferences",
    "address_add",
    "password_change",
    "password_change_done",
    "credentials:claim",
    "credentials:calendar",
    "ledger:dashboard",
    "ledger:history",
    "ledger:history_csv",
    "ledger:history_xlsx",
    "ledger:entry_create",
    "api_tokens",
}
# Pages for anyone.
PUBLIC_URLS = {
    "home",
    "healthz",
    "service_status",
    "sign_up",
    "sign_up_sent",
    "login",
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_complete",
    "badges:did_document",
    "badges:jwks",
    "badges:check",
    "set_language",  # the language picker: a cookie for anyone, the saved choice for an account
}
# Every staff page: the admin and the staff pages outside it, and the pages staff share with
# training organisations' members (rosters, organisation pages: test_organisation_authorization
# tries those with the members of two organisations).
STAFF_NAMESPACES = ("admin", "roster", "staff", "organisations")
# Pages for staff and organisation members: signed out, they send you to the sign-in page.
ORGANISATION_WORK = ("roster", "organisations")
ADMIN_SIGN_IN = {"admin:login", "admin:logout"}


def all_patterns(resolver=None, prefix=""):
    """(namespaced name, pattern) for every named URL of the project, the admin's included."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            space = f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
            yield from all_patterns(pattern, space)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{prefix}{pattern.name}", pattern


def is_staff_url(name: str) -> bool:
    return name.split(":")[0] in STAFF_NAMESPACES and name not in TOKEN_URLS


def sample_url(name: str, pattern) -> str:
    """A URL for the pattern, with a plausible value for each parameter."""
    regex = pattern.pattern.regex
    if regex.groups and not regex.groupindex:  # unnamed groups (the history pages)
        return reverse(name, args=["1"] * regex.groups)
    values = {"app_label": "credentials", "content_type_id": "1", "url": "x/"}
    return reverse(name, kwargs={key: values.get(key, "1") for key in regex.groupindex})


# The REST API's routes: tests/api/test_api_authorization.py tries each with every kind of
# caller (tokens, sessions, none).
API_URLS = {name for name, _ in API_ROUTES}


def test_every_url_of_the_project_is_classified():
    """A new URL fails here until it is put in a class this suite tests."""
    known = set(ID_URLS) | TOKEN_URLS | HOLDER_URLS | PUBLIC_URLS | API_URLS
    names = {name for name, _ in all_patterns()}
    assert {name for name in names if not is_staff_url(name) and name not in known} == set()
    with_params = {
        name
        for name, pattern in all_patterns()
        if not is_staff_url(name) and pattern.pattern.regex.groups and name not in API_URLS
    }
    assert with_params == set(ID_URLS) | TOKEN_URLS


STAFF_URLS = sorted((name, pattern) for name, pattern in all_patterns() if is_staff_url(name))


@pytest.mark.parametrize("method", ["get", "post"])
def test_every_staff_url_answers_403_to_a_signed_in_holder(client, method):
    from credentials.models import RosterImport

    record = RosterImport.objects.create(original_name="r.csv", file="rosters/x/r.csv")
    client.force_login(UserFactory())
    checked = 0
    for name, pattern in STAFF_URLS:
        if name in ADMIN_SIGN_IN:
            continue
        url = sample_url(name, pattern).replace("/1/", f"/{record.pk}/")
        response = getattr(client, method)(url)
        assert response.status_code == 403, (name, url, response.status_code)
        checked += 1
    assert checked > 100  # the admin's pages and ours
    record.refresh_from_db()
    assert record.status == RosterImport.Status.VALIDATED


def test_every_staff_and_holder_url_sends_a_signed_out_visitor_to_sign_in(client):
    for name, pattern in STAFF_URLS:
        if name in ADMIN_SIGN_IN:
            continue
        response = client.get(sample_url(name, pattern))
        if response.status_code == 405:  # a POST-only page refuses a GET before anything else
            continue
        assert response.status_code == 302, (name, response.status_code)
        work = name.split(":")[0] in ORGANISATION_WORK
        assert response["Location"].startswith(reverse("login" if work else "admin:login")), name
    for name in sorted(HOLDER_URLS):
        response = client.get(reverse(name))
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("login")), name


@pytest.mark.parametrize("name", sorted(ID_URLS))
@pytest.mark.parametrize("method", ["get", "post"])
def test_another_holders_ids_answer_404(client, other_holders_objects, name, method):
    me = UserFactory(email="a@example.com")
    credential_issue(holder=me, program=program("CSM"), issued_on=datetime.date(2024, 3, 15))
    client.force_login(me)
    url = reverse(name, kwargs=ID_URLS[name](other_holders_objects))
    data = {"term": other_holders_objects["term"].pk, "reason": "x", "reference": "x"}
    response = getattr(client, method)(url, data) if method == "post" else client.get(url)
    assert response.status_code in (404, 405), (url, response.status_code)
    other_holders_objects["entry"].refresh_from_db()
    assert other_holders_objects["entry"].voided_at is None
    assert other_holders_objects["credential"].terms.count() == 1


@pytest.mark.parametrize("name", sorted(ID_URLS))
def test_signed_out_visitors_are_sent_to_sign_in(client, other_holders_objects, name):
    url = reverse(name, kwargs=ID_URLS[name](other_holders_objects))
    response = client.get(url)
    assert response.status_code in (302, 405)
    if response.status_code == 302:
        assert response["Location"].startswith(reverse("login"))


# --- Staff within their role: no role, viewer and registrar on every staff URL ------------------

# Pages of the admin that hold no records: any staff account may open them.
ROLELESS_PAGES = {
    "admin:index",
    "admin:app_list",
    "admin:password_change",
    "admin:password_change_done",
    "admin:jsi18n",
    "admin:view_on_site",
}
ADMIN_MODEL_URL = re.compile(
    r"^admin:(?P<app>credentials|seu_ledger|auth|axes|api)_(?P<model>[a-z]+)_"
    r"(?P<view>changelist|add|change|delete|history|simple_history)$"
)
# Staff URLs outside the model pattern, and the permission each needs.
OTHER_STAFF_URLS = {
    "admin:seu_ledger_reminder_preview": "seu_ledger.view_reminder",
    "admin:credentials_user_merge": "credentials.merge_user",
    "admin:auth_user_password_change": "superuser",
    "admin:autocomplete": "view",  # some model's view permission, named in the query
}
STAFF_PAGE_PERMISSIONS = {  # the staff pages outside the admin
    "roster:history": "credentials.view_rosterimport",
    "roster:upload": "credentials.add_rosterimport",
    "roster:template": "credentials.view_rosterimport",
    "roster:detail": "credentials.view_rosterimport",
    "roster:apply": "credentials.add_rosterimport",
    "roster:progress": "credentials.view_rosterimport",
    "roster:errors": "credentials.view_rosterimport",
    "roster:rejected": "credentials.view_rosterimport",
    "roster:recheck": "credentials.add_rosterimport",
    "roster:discard": "credentials.add_rosterimport",
    "staff:queue": "credentials.view_credential",
    "staff:queue_csv": "credentials.view_credential",
    "staff:queue_xlsx": "credentials.view_credential",
    "staff:claim_verify": "credentials.change_credential",
    "staff:claim_reject": "credentials.change_credential",
    "staff:receipt_confirm": "seu_ledger.change_fee",
    "staff:reminder_resend": "credentials.change_credential",
    "staff:dashboard": "credentials.view_credential",
    "staff:at_risk_csv": "credentials.view_credential",
    "staff:at_risk_xlsx": "credentials.view_credential",
    "staff:transcript": "credentials.view_credential",
    # Every organisation for platform staff: reading with the view role, managing its members
    # and branding with the registrar's.
    "organisations:list": "credentials.view_course",
    "organisations:detail": "credentials.view_course",
    "organisations:course": "credentials.view_course",
    "organisations:course_attendees_csv": "credentials.view_course",
    "organisations:course_attendees_xlsx": "credentials.view_course",
    "organisations:course_trainers": "credentials.change_organisation",
    "organisations:members": "credentials.change_organisation",
    "organisations:member_change": "credentials.change_organisation",
    "organisations:branding": "credentials.change_organisation",
    "organisations:at_risk": "credentials.view_course",
    "organisations:at_risk_csv": "credentials.view_course",
    "organisations:at_risk_xlsx": "credentials.view_course",
}


def needed_permission(name: str, method: str) -> str | None:
    """The permission a staff URL needs for a method, or None for a page with no records."""
    if name in ROLELESS_PAGES or name in ADMIN_SIGN_IN | {"admin:logout"}:
        return None
    if name in OTHER_STAFF_URLS:
        return OTHER_STAFF_URLS[name]
    if name in STAFF_PAGE_PERMISSIONS:
        return STAFF_PAGE_PERMISSIONS[name]
    match = ADMIN_MODEL_URL.match(name)
    assert match, f"{name} is a staff URL nobody classified"
    app, model, view = match["app"], match["model"], match["view"]
    if view in ("add", "delete"):
        return f"{app}.{view}_{model}"
    if method == "post" and view in ("change", "simple_history"):
        return f"{app}.change_{model}"
    return f"{app}.view_{model}"


def allowed(user, permission: str) -> bool:
    if permission == "superuser":
        return user.is_superuser
    if permission == "view":
        return bool(user.get_all_permissions())
    app, codename = permission.split(".")
    model = codename.split("_", 1)[1]
    if codename.startswith("view_"):  # the admin lets a change permission view too
        return user.has_perm(permission) or user.has_perm(f"{app}.change_{model}")
    return user.has_perm(permission)


def url_of_a_real_record(name: str, pattern) -> str | None:
    """The admin URL of a record page for an existing record of its model (a missing one
    would only redirect); None when the model has no record."""
    from django.apps import apps

    match = ADMIN_MODEL_URL.match(name)
    kwargs = pattern.pattern.regex.groupindex
    if not match or "object_id" not in kwargs:
        return None
    model = apps.get_model(match["app"], match["model"])
    record = model._default_manager.order_by("pk").first()
    if record is None:
        return None
    values = {"object_id": record.pk}
    if "version_id" in kwargs:
        version = record.history.order_by("history_id").first()
        if version is None:
            return None
        values["version_id"] = version.history_id
    return reverse(name, kwargs=values)


@pytest.mark.parametrize("role", ["", "viewer", "registrar"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_every_staff_url_answers_403_outside_the_role(client, other_holders_objects, role, method):
    """A staff account reaches a staff URL only with the permission it needs: with no role,
    nothing but pages that hold no records; a viewer reads and never writes. Object pages are
    tried on a record that exists, so none answers with a does-not-exist redirect instead."""
    from credentials.models import RosterImport
    from tests.factories import staff_in

    record = RosterImport.objects.create(original_name="r.csv", file="rosters/x/r.csv")
    user = staff_in(role)
    client.force_login(user)
    checked = 0
    for name, pattern in STAFF_URLS:
        if name in ADMIN_SIGN_IN or name == "admin:logout":
            continue
        permission = needed_permission(name, method)
        if permission is None:
            continue
        if ADMIN_MODEL_URL.match(name) and "object_id" in pattern.pattern.regex.groupindex:
            url = url_of_a_real_record(name, pattern)
            if url is None:
                continue
        else:
            url = sample_url(name, pattern).replace("/1/", f"/{record.pk}/")
        response = getattr(client, method)(url)
        assert response.status_code < 500, (name, response.status_code)
        if not allowed(user, permission):
            # 404 where the page hides whether the record exists (the audit trail's pages).
            assert response.status_code in (403, 404, 405), (role, method, name)
        elif name != "admin:autocomplete":  # which asks for a model in its query: none here
            assert response.status_code != 403 or name.endswith(
                ("_add", "_delete", "_change", "_simple_history")
            ), (role, method, name)  # the model admin may still refuse a record it keeps
        checked += 1
    assert checked > 100
    record.refresh_from_db()
    if role != "registrar":
        assert record.status == RosterImport.Status.VALIDATED


@pytest.mark.parametrize(
    ("role", "evidence", "own_transcript_url", "staff_transcript"),
    [("", 404, 404, 403), ("viewer", 200, 404, 200), ("registrar", 200, 404, 200)],
)
def test_evidence_and_transcripts_follow_the_staff_role(
    client, other_holders_objects, role, evidence, own_transcript_url, staff_transcript
):
    from tests.factories import staff_in

    objects = other_holders_objects
    user = staff_in(role)
    user.licence_accepted_at = None  # staff need no licence to reach staff pages
    client.force_login(user)
    entry_url = reverse("ledger:entry_evidence", args=[objects["entry"].pk])
    assert client.get(entry_url).status_code == evidence
    ids = [objects["credential"].pk, objects["term"].pk]
    holder_url = reverse("ledger:transcript", args=ids)
    response = client.get(holder_url)
    # The holder's own page answers 404 to anyone else, staff included.
    assert response.status_code == own_transcript_url
    response = client.get(reverse("staff:transcript", args=ids))
    assert response.status_code == staff_transcript
    if staff_transcript == 200:
        assert response["Content-Type"] == "application/pdf"
        assert "no-store" in response["Cache-Control"]


# --- HEAD answers as GET does, on every page -----------------------------------------------------


def uid_and_token(user, tokens) -> dict:
    return {"uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": tokens.make_token(user)}


def address_confirm_token() -> str:
    """The token of the last secondary-address confirmation link sent."""
    prefix = reverse("address_confirm", kwargs={"token": "TOKEN"}).split("TOKEN")[0]
    bodies = "".join(message.body for message in mail.outbox)
    return re.findall(re.escape(prefix) + r"([^/\s]+)/", bodies)[-1]


def email_change_token(kind: str) -> str:
    """The token of the last address-change link of `kind` ("confirm" or "cancel") sent."""
    prefix = reverse(f"email_change_{kind}", kwargs={"token": "TOKEN"}).split("TOKEN")[0]
    bodies = "".join(message.body for message in mail.outbox)
    return re.findall(re.escape(prefix) + r"([^/\s]+)/", bodies)[-1]


# Every URL that takes a secret or a public code -> the kwargs of a link that works. A new one
# fails `test_head_answers_as_get_does` until it has a link here.
WORKING_LINKS = {
    "credentials:calendar_feed": lambda o: {"token": o["token"]},
    "credentials:verify": lambda o: {"code": o["credential"].verification_code},
    "credentials:verify_qr": lambda o: {"code": o["credential"].verification_code},
    "credentials:verify_json": lambda o: {"code": o["credential"].verification_code},
    "badges:issuer": lambda o: {"code": "scrum-alliance"},
    "badges:achievement": lambda o: {"code": "CSPO"},
    "badges:achievement_image": lambda o: {"code": "CSPO"},
    "badges:status_list": lambda o: {"purpose": "revocation", "number": 1},
    "invitation_accept": lambda o: uid_and_token(o["invited"], invitation_tokens),
    "sign_up_confirm": lambda o: uid_and_token(o["pending"], sign_up_tokens),
    "email_change_confirm": lambda o: {"token": email_change_token("confirm")},
    "email_change_cancel": lambda o: {"token": email_change_token("cancel")},
    "address_confirm": lambda o: {"token": address_confirm_token()},
    "password_reset_confirm": lambda o: uid_and_token(o["holder"], password_tokens),
    "ledger:reminders_unsubscribe": lambda o: {"token": unsubscribe_token(o["holder"])},
    "organisations:logo": lambda o: {"slug": o["organisation"].slug},
    "oidc_start": lambda o: {"slug": o["organisation"].slug},
    "oidc_callback": lambda o: {"slug": o["organisation"].slug},
}


@pytest.fixture
def own_objects():
    """A signed-up holder with a credential, an entry with evidence, a calendar token and an
    address change waiting; an invited and a pending account; a superuser and a roster
    import."""
    from credentials.models import RosterImport

    holder = UserFactory(email="own@example.com")
    credential = credential_issue(
        holder=holder, program=program("CSPO"), issued_on=datetime.date(2024, 3, 15)
    )
    entry = entry_log(
        holder=holder,
        activity_date=datetime.date(2025, 6, 1),
        category=category("scrum-alliance:learning"),
        title="Own workshop",
        hours=Decimal(4),
        evidence=SimpleUploadedFile("own.pdf", b"%PDF-1.4 own"),
    )
    email_change_request(user=holder, new_email="own.new@example.com")
    address = address_add(user=holder, address="own.work@example.com")
    for day in range(1, 4):
        entry_log(
            holder=holder,
            activity_date=datetime.date(2025, 7, day),
            category=category("scrum-alliance:learning"),
            title=f"Own day {day}",
            hours=Decimal(8),
        )
    fee_waive(credential=credential, recorded_by=UserFactory(), reason="test")
    renewal = credential_renew(credential=credential, on=datetime.date(2026, 3, 1)).renewals[0]
    return {
        "holder": holder,
        "credential": credential,
        "renewal": renewal,
        "term": credential.terms.get(sequence=1),
        "entry": entry,
        "token": calendar_token_for(holder),
        "address": address,
        "invited": User.objects.create_user("invited@example.com"),
        "pending": UserFactory(email="pending@example.com", state="pending"),
        "superuser": staff_in("superuser"),
        "roster_import": RosterImport.objects.create(original_name="r.csv", file="rosters/x/r.csv"),
        "api_token": token_create(user=holder, kind="personal", name="own").token,
        "organisation": organisation_branding_update(
            organisation=organisation("north"), reply_to="", website="", logo=LOGO
        ),
    }


def urls_for(audience: str, objects: dict) -> list[tuple[str, str]]:
    """(name, URL) of every page of an audience, each with parameters that lead somewhere:
    the holder's own objects, working links, records that exist."""
    if audience == "signed out":
        names = sorted(PUBLIC_URLS | TOKEN_URLS)
        missing = TOKEN_URLS - set(WORKING_LINKS)
        assert not missing, f"add a working link for {missing} to WORKING_LINKS"
        return [
            (name, reverse(name, kwargs=WORKING_LINKS[name](objects)))
            if name in WORKING_LINKS
            else (name, reverse(name))
            for name in names
        ]
    if audience == "holder":
        return [(name, reverse(name)) for name in sorted(HOLDER_URLS)] + [
            (name, reverse(name, kwargs=ID_URLS[name](objects))) for name in sorted(ID_URLS)
        ]
    urls = []
    for name, pattern in STAFF_URLS:
        if name in ADMIN_SIGN_IN:  # Django's admin sends only a GET of its sign-in page home
            continue
        if name == "staff:transcript":
            url = reverse(name, args=[objects["credential"].pk, objects["term"].pk])
        else:
            url = url_of_a_real_record(name, pattern) or sample_url(name, pattern).replace(
                "/1/", f"/{objects['roster_import'].pk}/"
            )
        urls.append((name, url))
    return urls


def client_for(audience: str, objects: dict) -> Client:
    client = Client()
    if audience == "holder":
        client.force_login(objects["holder"])
    elif audience == "superuser":
        client.force_login(objects["superuser"])
    return client


# Pages each audience must have opened, so the test cannot pass by opening nothing.
OPENED_AT_LEAST = {
    "signed out": {
        "home",
        "healthz",
        "service_status",
        "credentials:calendar_feed",
        "credentials:verify",
        "credentials:verify_qr",
        "ledger:reminders_unsubscribe",
    },
    "holder": {
        "ledger:dashboard",
        "ledger:history",
        "ledger:history_csv",
        "ledger:history_xlsx",
        "ledger:entry_evidence",
        "ledger:renewal",
        "ledger:transcript",
    },
    "superuser": {
        "admin:index",
        "staff:queue",
        "staff:dashboard",
        "staff:at_risk_csv",
        "staff:at_risk_xlsx",
        "staff:transcript",
        "roster:history",
    },
}


@pytest.mark.parametrize("audience", ["signed out", "holder", "superuser"])
def test_head_answers_as_get_does(own_objects, audience):
    """Every page a GET opens, for the person it is for, answers HEAD with the same status and
    headers and no body: nothing refuses HEAD with 405 (as `require_GET` does). Pages that only
    take a POST (405 to a GET) are left out. Each URL gets a fresh session (no message left by
    the page before) and a clock that stands still (so `Expires` matches)."""
    opened = []
    for name, url in urls_for(audience, own_objects):
        client = client_for(audience, own_objects)
        with time_machine.travel(timezone.now(), tick=False):
            got = client.get(url)
            if got.status_code == 405:
                continue
            head = client.head(url)
        assert head.status_code == got.status_code, (name, url, got.status_code, head.status_code)
        assert b"".join(head) == b"", name
        assert dict(head.headers) == dict(got.headers), name
        if got.status_code == 200:
            opened.append(name)
    assert OPENED_AT_LEAST[audience] <= set(opened), OPENED_AT_LEAST[audience] - set(opened)
    assert len(opened) > {"superuser": 50}.get(audience, 10)
