"""A trainer signs in through their organisation's identity provider in a real browser: our
sign-in page, the provider's (a real local OpenID Connect provider), back to the organisation's
page; and the same trainer's password refused once the organisation requires its provider."""

import re

import pytest
from playwright.sync_api import expect

from credentials.models import Organisation
from tests.factories import DEFAULT_PASSWORD, cspo_course, member_of, organisation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_trainer_signs_in_through_the_organisations_provider(
    page, live_server, settings, oidc_provider, screenshot_dir, axe, reference_data
):
    settings.SITE_URL = live_server.url
    oidc_provider.allow_redirect(f"{live_server.url}/accounts/sign-in/north/callback/")
    north = organisation(
        "north",
        name="Northwind Agile Academy",
        oidc_issuer=oidc_provider.issuer,
        oidc_client_id=oidc_provider.client_id,
        oidc_client_secret=oidc_provider.client_secret,
    )
    trainer = member_of(north, email="dana@northwind.example", first_name="Dana")
    cspo_course("NW-CSPO-1", organisation=north, title="CSPO, November").trainers.add(trainer)
    oidc_provider.add_user("dana@northwind.example", "provider password", given="Dana")

    page.goto("/accounts/login/")
    button = page.get_by_role("link", name="Sign in through Northwind Agile Academy")
    expect(button).to_be_visible()
    page.screenshot(path=screenshot_dir / "sign-in-organisation.png")
    axe("sign in with organisations")
    button.click()
    expect(page.get_by_role("heading", name="Test identity provider")).to_be_visible()
    page.get_by_label("Email address").fill("dana@northwind.example")
    page.get_by_label("Password").fill("provider password")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile("/org/north/$"))
    expect(page.get_by_text("Signed in through Northwind Agile Academy")).to_be_visible()
    expect(page.get_by_role("link", name="NW-CSPO-1")).to_be_visible()

    # The organisation now requires its provider: the password is refused, saying where to go.
    Organisation.objects.filter(pk=north.pk).update(oidc_required=True)
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.get_by_label("Email address").fill("dana@northwind.example")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(
        page.get_by_text("Members of Northwind Agile Academy sign in through its identity provider")
    ).to_be_visible()
    axe("password refused for an organisation's member")
