"""What an attacker with a valid token tried against the API: each was a 500, a crash or a
reach too far before it was fixed."""

import datetime
from base64 import b64encode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from api import webhooks
from api.models import Delivery, Event
from credentials.services import credential_issue
from seu_ledger.models import Entry
from tests.factories import category, program

pytestmark = pytest.mark.django_db


def codes(response):
    return [(e["code"], e["field"]) for e in response.json()["errors"]]


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("options", "/api/v1/holders/"),
        ("put", "/api/v1/holders/1/"),
        ("delete", "/api/v1/holders/1/"),
        ("trace", "/api/v1/credentials/1/"),
        ("patch", "/api/v1/credentials/1/"),
        ("put", "/api/v1/webhook-endpoints/1/"),
    ],
)
def test_a_method_a_staff_route_does_not_take_is_405_not_500(api_staff, method, url):
    response = getattr(api_staff.client, method)(url, headers=api_staff._headers(None))
    assert response.status_code in (200, 405)  # OPTIONS: the route's description
    if method != "options":
        assert response.status_code == 405


def test_the_browsable_page_of_a_staff_route_opens(superuser):
    client = Client()
    client.force_login(superuser)
    response = client.get("/api/v1/holders/", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert b"Holder List" in response.content


@pytest.mark.parametrize("position", ["abc", "", "1.5", "1e400", "\x00", str(2**70)])
def test_a_forged_cursor_is_404_not_500(api_a, position):
    cursor = b64encode(f"p={position}".encode()).decode()
    response = api_a.get("/api/v1/me/entries/", {"cursor": cursor})
    assert response.status_code == 404
    assert codes(response) == [("not_found", None)]


def test_bodies_too_deep_too_many_fields_or_too_big_are_4xx(api_a, settings):
    deep = api_a.client.post(
        "/api/v1/me/entries/",
        "[" * 5000 + "]" * 5000,
        content_type="application/json",
        headers=api_a._headers(None),
    )
    assert deep.status_code == 400
    assert codes(deep) == [("parse_error", None)]
    fields = {f"f{n}": "1" for n in range(1200)}
    many = api_a.client.get("/api/v1/me/entries/", fields, headers=api_a._headers(None))
    assert many.status_code == 400
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    big = api_a.post("/api/v1/me/entries/", {"title": "x" * 2000})
    assert big.status_code == 413
    assert codes(big) == [("too_large", None)]


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1:22/",
        "https://169.254.169.254/latest/meta-data/",
        "https://localhost/",
        "https://[::1]/",
        "https://10.1.2.3/hook",
        "https://",
        "https://user:pass@example.com/",
        "https://exa mple.com/",
        "https://[::127.0.0.1]/",
        "https://[64:ff9b::7f00:1]/",
        "https://[2002:7f00:1::]/",
        "https://[::ffff:169.254.169.254]/",
        "https://foo.localhost./",
        "https://localhost./",
        "https://93.184.216.34:99999/",
        "https://93.184.216.34:0/",
    ],
)
def test_webhook_urls_to_private_addresses_or_malformed_are_refused(api_staff, settings, url):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    response = api_staff.post(
        "/api/v1/webhook-endpoints/", {"url": url, "events": ["credential.issued"]}
    )
    assert response.status_code == 400, url
    assert codes(response)[0][1] == "url"


def test_a_delivery_to_a_name_that_now_points_inside_is_not_sent(settings, holder_a):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    endpoint = webhooks.endpoint_create(
        url="https://hooks.example.com/in", events=["credential.issued"]
    )
    endpoint.url = "https://localhost:9/in"  # as if the name now resolved inside
    endpoint.save()
    credential_issue(holder=holder_a, program=program("CSPO"), issued_on=datetime.date(2026, 1, 2))
    delivery = Delivery.objects.get()
    webhooks.deliver(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.RETRYING
    assert delivery.last_error == "Not sent: localhost is on a private or local network."


def test_a_url_python_cannot_send_to_records_a_failed_attempt_instead_of_crashing(holder_a):
    endpoint = webhooks.endpoint_create(
        url="https://hooks.example.com/in", events=["credential.issued"]
    )
    endpoint.url = "https://exa mple.com/"  # stored before the stricter check
    endpoint.save()
    credential_issue(holder=holder_a, program=program("CSPO"), issued_on=datetime.date(2026, 1, 2))
    delivery = Delivery.objects.get()
    webhooks.deliver(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.RETRYING
    assert delivery.attempts == 1
    assert delivery.last_error.startswith("No answer")
    assert Event.objects.count() == 1


def test_allocations_only_to_the_skill_areas_the_form_offers(api_a, holder_a):
    credential_issue(holder=holder_a, program=program("CSPO"), issued_on=datetime.date(2025, 1, 2))
    learning = category("scrum-alliance:learning")
    pmi_education = category("pmi:education")
    response = api_a.post(
        "/api/v1/me/entries/",
        {
            "activity_date": "2026-11-01",
            "category": learning.pk,
            "title": "t",
            "hours": "1",
            "allocations": [{"category": pmi_education.pk, "hours": "1"}],
        },
    )
    assert response.status_code == 400
    assert codes(response) == [("invalid", "allocations")]
    assert not Entry.objects.exists()


def test_an_unknown_roster_encoding_is_refused(api_staff):
    response = api_staff.post(
        "/api/v1/roster-imports/",
        {"file": SimpleUploadedFile("r.csv", b"email\na@example.com\n"), "encoding": "e" * 500},
    )
    assert response.status_code == 400
    assert codes(response) == [("invalid_choice", "encoding")]


def test_head_carries_the_etag_get_has(api_a):
    got = api_a.get("/api/v1/programs/")
    head = api_a.client.head("/api/v1/programs/", headers=api_a._headers(None))
    assert head.status_code == 200
    assert head["ETag"] == got["ETag"]


def test_the_schema_is_rate_limited_per_address(anonymous):
    from rest_framework.throttling import SimpleRateThrottle

    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = {**original, "address": "2/min"}
    try:
        answers = [anonymous.get("/api/v1/schema/").status_code for _ in range(3)]
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original
    assert answers == [200, 200, 429]


def test_the_schema_takes_no_version_from_the_query(anonymous):
    for version in ("a\nX", "\r\nSet-Cookie: x=1", "\x00", 'a"b'):
        response = anonymous.get("/api/v1/schema/", {"format": "json", "version": version})
        assert response.status_code == 200
        assert response["Content-Disposition"] == 'inline; filename="CSPO Tracker API (1.0.0).json"'


def test_a_refused_host_under_the_api_is_json(client):
    response = client.get("/api/v1/programs/", headers={"Host": "evil.example"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "bad_request"
    page = client.get("/", headers={"Host": "evil.example"})
    assert page.status_code == 400
    assert page["Content-Type"].startswith("text/html")
