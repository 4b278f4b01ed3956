"""Every API route with every kind of caller: none, a holder's personal token, a holder
signed in, integration tokens (every scope for a superuser; the wrong scope; every scope for
staff without the permission) and a superuser signed in. Holder A never reaches holder B's
records. A new route fails `test_every_api_route_is_in_the_table` until it is classified."""

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from api.models import Delivery, Event, Scope
from api.webhooks import endpoint_create
from credentials.roster.imports import roster_import_check
from credentials.services import credential_issue
from seu_ledger.models import Reminder
from seu_ledger.services import entry_log
from tests.factories import StaffFactory, UserFactory, category, cspo_course, program

from .conftest import Caller, integration, personal

pytestmark = pytest.mark.django_db

PUBLIC, ANY, HOLDER = "public", "any", "holder"
ROSTER = (
    "email,first_name,last_name,course_code,end_date,hours_attended,completed\n"
    "r1@example.com,Rae,One,AUTH-R,2026-05-01,16,yes\n"
)


def _roster_file():
    return {"file": SimpleUploadedFile("r.csv", ROSTER.encode())}


# (route name, method) -> (who may, the kwargs of the URL, the body, the status when allowed)
ROUTES = {
    ("api:schema", "get"): (PUBLIC, None, None, 200),
    ("api:docs", "get"): (PUBLIC, None, None, 200),
    ("api:program-list", "get"): (ANY, None, None, 200),
    ("api:program-detail", "get"): (ANY, lambda o: {"code": "CSPO"}, None, 200),
    ("api:category-list", "get"): (ANY, None, None, 200),
    ("api:category-detail", "get"): (ANY, lambda o: {"pk": o["category"].pk}, None, 200),
    ("api:holder-list", "get"): ((Scope.HOLDERS_READ, "view_user"), None, None, 200),
    ("api:holder-list", "post"): (
        (Scope.HOLDERS_WRITE, "add_user"),
        None,
        lambda o: {"email": "new@example.com"},
        201,
    ),
    ("api:holder-detail", "get"): (
        (Scope.HOLDERS_READ, "view_user"),
        lambda o: {"pk": o["b"].pk},
        None,
        200,
    ),
    ("api:holder-detail", "patch"): (
        (Scope.HOLDERS_WRITE, "change_user"),
        lambda o: {"pk": o["b"].pk},
        lambda o: {"first_name": "Benedict"},
        200,
    ),
    ("api:credential-list", "get"): ((Scope.CREDENTIALS_READ, "view_credential"), None, None, 200),
    ("api:credential-list", "post"): (
        (Scope.CREDENTIALS_WRITE, "add_credential"),
        None,
        lambda o: {"holder": o["c"].pk, "course": o["course"].code, "hours_attended": "16"},
        201,
    ),
    ("api:credential-detail", "get"): (
        (Scope.CREDENTIALS_READ, "view_credential"),
        lambda o: {"pk": o["credential_b"].pk},
        None,
        200,
    ),
    ("api:credential-revoke", "post"): (
        (Scope.CREDENTIALS_WRITE, "change_credential"),
        lambda o: {"pk": o["credential_b"].pk},
        lambda o: {"reason": "Issued in error"},
        200,
    ),
    ("api:roster-import-list", "get"): (
        (Scope.ROSTERS_WRITE, "view_rosterimport"),
        None,
        None,
        200,
    ),
    ("api:roster-import-list", "post"): (
        (Scope.ROSTERS_WRITE, "add_rosterimport"),
        None,
        lambda o: _roster_file(),
        201,
    ),
    ("api:roster-import-detail", "get"): (
        (Scope.ROSTERS_WRITE, "view_rosterimport"),
        lambda o: {"pk": o["roster"].pk},
        None,
        200,
    ),
    ("api:roster-import-confirm", "post"): (
        (Scope.ROSTERS_WRITE, "add_rosterimport"),
        lambda o: {"pk": o["roster"].pk},
        lambda o: {"only_valid_rows": True},
        202,
    ),
    ("api:reminder-list", "get"): ((Scope.REMINDERS_READ, "view_reminder"), None, None, 200),
    ("api:reminder-detail", "get"): (
        (Scope.REMINDERS_READ, "view_reminder"),
        lambda o: {"pk": o["reminder"].pk},
        None,
        200,
    ),
    ("api:my-credential-list", "get"): (HOLDER, None, None, 200),
    ("api:my-credential-detail", "get"): (
        HOLDER,
        lambda o: {"pk": o["credential_a"].pk},
        None,
        200,
    ),
    ("api:my-entry-list", "get"): (HOLDER, None, None, 200),
    ("api:my-entry-list", "post"): (
        HOLDER,
        None,
        lambda o: {
            "activity_date": "2026-03-01",
            "category": o["category"].pk,
            "title": "Meetup",
            "hours": "2",
        },
        201,
    ),
    ("api:my-entry-detail", "get"): (HOLDER, lambda o: {"pk": o["entry_a"].pk}, None, 200),
    ("api:my-entry-void", "post"): (
        HOLDER,
        lambda o: {"pk": o["entry_a"].pk},
        lambda o: {"reason": "Duplicate"},
        200,
    ),
    ("api:webhook-endpoint-list", "get"): (
        (Scope.WEBHOOKS_MANAGE, "view_webhookendpoint"),
        None,
        None,
        200,
    ),
    ("api:webhook-endpoint-list", "post"): (
        (Scope.WEBHOOKS_MANAGE, "add_webhookendpoint"),
        None,
        lambda o: {"url": "https://hr.example.com/hooks", "events": ["credential.lapsed"]},
        201,
    ),
    ("api:webhook-endpoint-detail", "get"): (
        (Scope.WEBHOOKS_MANAGE, "view_webhookendpoint"),
        lambda o: {"pk": o["endpoint"].pk},
        None,
        200,
    ),
    ("api:webhook-endpoint-detail", "patch"): (
        (Scope.WEBHOOKS_MANAGE, "change_webhookendpoint"),
        lambda o: {"pk": o["endpoint"].pk},
        lambda o: {"description": "HR system"},
        200,
    ),
    ("api:webhook-endpoint-detail", "delete"): (
        (Scope.WEBHOOKS_MANAGE, "delete_webhookendpoint"),
        lambda o: {"pk": o["endpoint"].pk},
        None,
        204,
    ),
    ("api:webhook-delivery-list", "get"): (
        (Scope.WEBHOOKS_MANAGE, "view_webhookendpoint"),
        None,
        None,
        200,
    ),
    ("api:webhook-delivery-detail", "get"): (
        (Scope.WEBHOOKS_MANAGE, "view_webhookendpoint"),
        lambda o: {"pk": o["delivery"].pk},
        None,
        200,
    ),
    ("api:webhook-delivery-resend", "post"): (
        (Scope.WEBHOOKS_MANAGE, "change_webhookendpoint"),
        lambda o: {"pk": o["delivery"].pk},
        None,
        202,
    ),
}
CALLERS = [
    "none",
    "personal A",
    "session A",
    "integration, every scope",
    "integration, another scope",
    "integration, staff without the permission",
    "session superuser",
]


def api_patterns(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            space = f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
            yield from api_patterns(pattern, space)
        elif isinstance(pattern, URLPattern) and pattern.name and prefix.startswith("api:"):
            yield f"{prefix}{pattern.name}", pattern


def test_every_api_route_is_in_the_table():
    """Each API route and method is classified (a new one fails here until it is)."""
    found = set()
    for name, pattern in api_patterns():
        actions = getattr(pattern.callback, "actions", None)
        # PUT: 405, never routed; HEAD: answered as GET.
        methods = set(actions) - {"put", "head"} if actions else {"get"}
        found |= {(name, method) for method in methods}
    assert found == set(ROUTES)


@pytest.fixture
def objects(db):
    a = UserFactory(email="a@example.com")
    b = UserFactory(email="b@example.com")
    learning = category("scrum-alliance:learning")
    credential_a = credential_issue(
        holder=a, program=program("CSPO"), issued_on=datetime.date(2025, 1, 10)
    )
    credential_b = credential_issue(
        holder=b, program=program("CSPO"), issued_on=datetime.date(2024, 12, 20)
    )
    entry = {"activity_date": datetime.date(2025, 6, 1), "category": learning, "hours": Decimal(3)}
    endpoint = endpoint_create(url="https://hr.example.com/in", events=["credential.issued"])
    event = Event.objects.create(
        type="credential.issued",
        key="k",
        subject="credential:x",
        payload={"type": "credential.issued", "timestamp": "2026-01-01T00:00:00Z", "data": {}},
        occurred_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
    )
    return {
        "a": a,
        "b": b,
        "c": UserFactory(email="c@example.com"),
        "category": learning,
        "credential_a": credential_a,
        "credential_b": credential_b,
        "entry_a": entry_log(holder=a, title="A's", **entry),
        "entry_b": entry_log(holder=b, title="B's", **entry),
        "course": cspo_course("AUTH-1", end_date=datetime.date(2026, 4, 30)),
        "roster": roster_import_check(data=ROSTER.encode(), name="r.csv", uploaded_by=None),
        "reminder": Reminder.objects.create(
            holder=b,
            term=credential_b.terms.get(),
            days_before=30,
            term_ends_on=credential_b.terms.get().ends_on,
            kind=Reminder.Kind.EXPIRY_APPROACHING,
            created_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
        ),
        "endpoint": endpoint,
        "delivery": Delivery.objects.create(event=event, endpoint=endpoint),
    }


def caller_for(kind: str, objects, scope) -> Caller:
    superuser = StaffFactory(is_superuser=True)
    if kind == "none":
        return Caller(Client(), "", kind)
    if kind == "personal A":
        return Caller(Client(), personal(objects["a"]), kind)
    if kind == "session A":
        client = Client()
        client.force_login(objects["a"])
        return Caller(client, "", kind)
    if kind == "integration, every scope":
        return Caller(Client(), integration(superuser, Scope.values), kind)
    if kind == "integration, another scope":
        other = Scope.REMINDERS_READ if scope != Scope.REMINDERS_READ else Scope.HOLDERS_READ
        return Caller(Client(), integration(superuser, [other]), kind)
    if kind == "integration, staff without the permission":
        return Caller(Client(), integration(StaffFactory(), Scope.values), kind)
    client = Client()
    client.force_login(superuser)
    return Caller(client, "", kind)


def expected(rule, kind: str, allowed_status: int) -> int:
    if rule == PUBLIC:
        return allowed_status
    if kind == "none":
        return 401
    if rule == ANY:
        return allowed_status
    if rule == HOLDER:
        if kind.startswith("integration"):
            return 403
        if kind == "session superuser" and allowed_status != 201 and allowed_status != 200:
            return 404
        return allowed_status
    # A staff route.
    if kind in ("integration, every scope", "session superuser"):
        return allowed_status
    return 403


@pytest.mark.parametrize("kind", CALLERS)
@pytest.mark.parametrize("route", sorted(ROUTES), ids=lambda r: f"{r[1]} {r[0]}")
def test_route_answers_each_kind_of_caller(route, kind, objects):
    name, method = route
    rule, kwargs, body, allowed_status = ROUTES[route]
    scope = rule[0] if isinstance(rule, tuple) else None
    caller = caller_for(kind, objects, scope)
    url = reverse(name, kwargs=kwargs(objects) if kwargs else None)
    status = expected(rule, kind, allowed_status)
    if rule == HOLDER and kind == "session superuser" and kwargs:
        status = 404  # A's records, asked for by someone else
    data = body(objects) if body else None
    if method == "get":
        response = caller.get(url)
    elif method == "delete":
        response = caller.delete(url)
    elif method == "patch":
        response = caller.patch(url, data)
    else:
        response = caller.post(url, data)
    assert response.status_code == status, (kind, url, response.content[:300])
    if status >= 400:
        assert response.json()["errors"][0]["message"]


@pytest.mark.parametrize("kind", ["personal", "session"])
def test_holder_a_never_reaches_holder_b(kind, objects):
    if kind == "personal":
        caller = Caller(Client(), personal(objects["a"]), kind)
    else:
        client = Client()
        client.force_login(objects["a"])
        caller = Caller(client, "", kind)
    b_urls = [
        reverse("api:my-credential-detail", kwargs={"pk": objects["credential_b"].pk}),
        reverse("api:my-entry-detail", kwargs={"pk": objects["entry_b"].pk}),
    ]
    for url in b_urls:
        assert caller.get(url).status_code == 404, url
    void = caller.post(
        reverse("api:my-entry-void", kwargs={"pk": objects["entry_b"].pk}), {"reason": "mine?"}
    )
    assert void.status_code == 404
    objects["entry_b"].refresh_from_db()
    assert objects["entry_b"].voided_at is None
    credentials = caller.get(reverse("api:my-credential-list")).json()["results"]
    entries = caller.get(reverse("api:my-entry-list")).json()["results"]
    assert [c["id"] for c in credentials] == [objects["credential_a"].pk]
    assert [e["id"] for e in entries] == [objects["entry_a"].pk]
    # Filters cannot widen the reach either (there is no holder filter here; it is ignored).
    widened = caller.get(reverse("api:my-credential-list"), {"holder": objects["b"].pk})
    assert [c["id"] for c in widened.json()["results"]] == [objects["credential_a"].pk]


def test_a_session_write_needs_the_csrf_token(objects):
    client = Client(enforce_csrf_checks=True)
    client.force_login(objects["a"])
    response = client.post(
        reverse("api:my-entry-void", kwargs={"pk": objects["entry_a"].pk}),
        {"reason": "x"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["errors"][0]["message"]
