"""In Chromium: a holder makes a personal API token on their profile, copies it once, their
own tool reads their credentials with it, and revoking it in the page stops it at once. Staff
make an integration token in the admin (shown once, limited to its scopes) and register a
webhook endpoint there."""

import datetime
import json
import re
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from api.models import ApiToken, WebhookEndpoint
from credentials.services import credential_issue, licence_accept
from tests.browser.axe import assert_accessible
from tests.browser.conftest import DESKTOP, sign_in
from tests.factories import DEFAULT_PASSWORD, StaffFactory, UserFactory, program

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def api_get(url: str, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 -- loopback
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def test_a_holder_makes_uses_and_revokes_a_personal_token(
    browser, live_server, reference_data, screenshot_dir
):
    person = UserFactory(email="ada@example.com", first_name="Ada", last_name="Lovelace")
    licence_accept(user=person)
    credential_issue(holder=person, program=program("CSPO"), issued_on=datetime.date(2026, 1, 5))
    context = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, person.email)

    page.goto("/accounts/profile/")
    page.get_by_role("link", name="API tokens").click()
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    page.get_by_label("Name").fill("My spreadsheet")
    page.get_by_role("button", name="Make a token").click()
    shown = page.get_by_label("Token “My spreadsheet”")
    expect(shown).to_be_visible()
    token = shown.input_value()
    assert token.startswith("cspo_pat_")
    assert_accessible(page, "API tokens, one made")
    page.screenshot(path=str(screenshot_dir / "api-tokens.png"), full_page=True)

    status, body = api_get(f"{live_server.url}/api/v1/me/credentials/", token)
    assert status == 200
    assert [c["program"] for c in body["results"]] == ["CSPO"]
    page.reload()  # shown once: the page does not show it again
    expect(page.get_by_label("Token “My spreadsheet”")).to_have_count(0)
    row = page.get_by_role("row", name="My spreadsheet")
    expect(row).to_contain_text("cspo_pat_")
    expect(row).not_to_contain_text("Never")  # used once just now

    # The reference page the token page links to opens (Swagger UI from our own static files,
    # under the site's Content-Security-Policy).
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    page.get_by_role("link", name="CSPO Tracker API").click()
    expect(page.get_by_role("heading", name="CSPO Tracker API")).to_be_visible()
    expect(page.get_by_text("/api/v1/me/entries/").first).to_be_visible()
    assert refused == []
    page.go_back()
    row = page.get_by_role("row", name="My spreadsheet")
    row.get_by_role("button", name="Revoke My spreadsheet").click()
    expect(page.get_by_text("Revoked “My spreadsheet”")).to_be_visible()
    status, body = api_get(f"{live_server.url}/api/v1/me/credentials/", token)
    assert status == 401
    assert "revoked" in body["errors"][0]["message"]
    context.close()


def test_staff_make_an_integration_token_and_a_webhook_in_the_admin(
    browser, live_server, reference_data, screenshot_dir
):
    admin = StaffFactory(email="admin@example.com", is_superuser=True)
    licence_accept(user=admin)
    context = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/admin/login/")
    page.get_by_label("Email address").fill(admin.email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.goto("/admin/api/apitoken/add/")
    page.get_by_label("Name").fill("HR system")
    page.get_by_label("Acts for").select_option(label=admin.email)
    page.get_by_label("Read credentials and their status").check()
    page.get_by_role("button", name="Make the token").click()
    token = page.get_by_label("Token").input_value()
    assert token.startswith("cspo_int_")
    page.reload()  # the page a token is shown on makes no second one
    expect(page.get_by_label("Token")).to_have_count(0)
    assert ApiToken.objects.get().scopes == ["credentials:read"]
    status, _ = api_get(f"{live_server.url}/api/v1/credentials/", token)
    assert status == 200
    status, body = api_get(f"{live_server.url}/api/v1/holders/", token)
    assert status == 403
    assert "holders:read" in body["errors"][0]["message"]

    page.goto("/admin/api/webhookendpoint/add/")
    page.get_by_label("Url").fill("https://hr.example.com/cspo")
    page.get_by_label(re.compile(r"credential\.lapsed:")).check()
    page.get_by_role("button", name="Save", exact=True).click()
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["credential.lapsed"]
    assert endpoint.secret.startswith("whsec_")
    context.close()
