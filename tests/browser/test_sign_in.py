"""A person signs in and out in a real browser, on a desktop and on a phone-width screen."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_in_shows_the_home_page_then_sign_out(page, password, screenshot_dir):
    UserFactory(email="pat@example.com", first_name="Pat")
    page.goto("/accounts/login/")
    expect(page).to_have_title(re.compile("Sign in"))
    page.screenshot(path=screenshot_dir / "sign-in-desktop.png")
    # Bootstrap is served by the app itself, not a CDN.
    assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith("system-ui")

    page.get_by_label("Email address").fill("Pat@Example.com")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your certifications")).to_be_visible()

    page.get_by_role("button", name="Pat").click()  # the account menu needs Bootstrap's JS
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile("/accounts/login/$"))


def test_wrong_password_error_is_shown_on_the_form(page, axe):
    UserFactory(email="pat@example.com")
    page.goto("/accounts/login/")
    page.get_by_label("Email address").fill("pat@example.com")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("do not match an active account")).to_be_visible()
    axe("sign in refused")


def test_navigation_collapses_on_a_phone_and_still_opens(page, screenshot_dir):
    page.set_viewport_size(PHONE)
    page.goto("/")
    sign_in_link = page.get_by_role("link", name="Sign in", exact=True).first
    toggler = page.get_by_role("button", name="Toggle navigation")
    expect(toggler).to_be_visible()
    toggler.click()
    expect(page.locator("#main-nav")).to_have_class(re.compile(r"\bshow\b"))
    expect(sign_in_link).to_be_visible()
    page.screenshot(path=screenshot_dir / "home-phone.png", full_page=True)
