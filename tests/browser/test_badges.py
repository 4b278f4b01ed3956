"""In Chromium: a holder goes from their credential card to LinkedIn's Add-to-Profile link and
to a downloaded Open Badges credential that verifies (on our check page, signed out, and in
Node.js with panva's jose); axe-core checks the pages on the way."""

import datetime
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from badges import documents, keys
from badges.models import IssuedBadge
from badges.selectors import status_list_token
from credentials.selectors import today
from credentials.services import credential_issue, licence_accept
from tests.browser.axe import assert_accessible
from tests.browser.conftest import DESKTOP, sign_in
from tests.factories import UserFactory, program

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_from_the_card_to_linkedin_and_a_credential_that_verifies(
    browser,
    live_server,
    reference_data,
    screenshot_dir,
    node_verifier,
    tmp_path,
):
    person = UserFactory(email="ada@example.com", first_name="Ada", last_name="Lovelace")
    licence_accept(user=person)
    issued_on = today() - datetime.timedelta(days=100)
    credential = credential_issue(holder=person, program=program("CSPO"), issued_on=issued_on)
    credential.certificate_number = "SA-001234"
    credential.save()
    context = browser.new_context(viewport=DESKTOP, base_url=live_server.url, accept_downloads=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, person.email)

    page.locator("article.credential-card").get_by_role("link", name="Share CSPO").click()
    expect(page.get_by_role("heading", name="Share your CSPO")).to_be_visible()
    assert_accessible(page, "share page")
    page.screenshot(path=str(screenshot_dir / "share-credential.png"), full_page=True)

    # Add to LinkedIn: LinkedIn's Add-to-Profile URL with the credential's facts.
    linkedin = page.get_by_role("link", name="Add to LinkedIn")
    href = linkedin.get_attribute("href")
    url = urlsplit(href)
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://www.linkedin.com/profile/add"
    params = {key: values[0] for key, values in parse_qs(url.query).items()}
    ends_on = credential.terms.get().ends_on
    assert params == {
        "startTask": "CERTIFICATION_NAME",
        "name": "Certified Scrum Product Owner (CSPO)",
        "organizationName": "Scrum Alliance",
        "issueYear": str(issued_on.year),
        "issueMonth": str(issued_on.month),
        "expirationYear": str(ends_on.year),
        "expirationMonth": str(ends_on.month),
        "certUrl": f"http://testserver/verify/{credential.verification_code}/",
        "certId": "SA-001234",
    }
    assert linkedin.get_attribute("target") == "_blank"

    # Copy link puts the verification link on the clipboard.
    page.get_by_role("button", name="Copy link").click()
    expect(page.locator("[data-copy-status]")).to_have_text("Link copied.")
    assert page.evaluate("navigator.clipboard.readText()") == params["certUrl"]

    # The downloads: the badge image with the credential baked in, and the JSON.
    with page.expect_download() as png_download:
        page.get_by_role("link", name="Download badge image (PNG)").click()
    png = tmp_path / png_download.value.suggested_filename
    png_download.value.save_as(png)
    assert png.name == f"CSPO-{issued_on.isoformat()}.png"
    with page.expect_download() as json_download:
        page.get_by_role("link", name="Download (JSON)").click()
    saved = tmp_path / json_download.value.suggested_filename
    json_download.value.save_as(saved)
    envelope = json.loads(saved.read_text())
    assert envelope["type"] == "EnvelopedVerifiableCredential"
    token = envelope["id"].removeprefix("data:application/vc+jwt,")
    assert token == IssuedBadge.objects.get().jwt

    # A verifier, signed out, uploads the image on the check page.
    visitor = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
    check = visitor.new_page()
    check.set_default_timeout(15_000)
    check.goto("/verify/check/")
    check.get_by_label("Or upload the badge image or credential file").set_input_files(str(png))
    check.get_by_role("button", name="Check").click()
    expect(check.locator(".check-verdict")).to_have_text("Verified")
    expect(check.locator(".check-signature")).to_have_text("Signed by this site")
    expect(check.locator(".check-status")).to_have_text("Neither revoked nor suspended")
    assert_accessible(check, "check page with a result")
    check.screenshot(path=str(screenshot_dir / "check-credential.png"), full_page=True)
    # ...and the JSON, pasted.
    check.goto("/verify/check/")
    check.get_by_label("Paste a credential").fill(saved.read_text())
    check.get_by_role("button", name="Check").click()
    expect(check.locator(".check-verdict")).to_have_text("Verified")
    visitor.close()

    # The same download verifies in another implementation, with only what we publish.
    lists = [status_list_token(purpose, 1) for purpose in documents.PURPOSES]
    code, result = node_verifier(keys.public_jwks(), token, lists, tmp=tmp_path)
    assert code == 0, result
    context.close()
