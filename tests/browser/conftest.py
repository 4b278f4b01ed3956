"""Headless Chromium driven by Playwright against a live server.

Playwright's own browser download is not used: the tests drive the system Chromium
(CHROMIUM_PATH, default /usr/bin/chromium), and skip naming the reason where it is missing.
"""

import os
import shutil
from pathlib import Path

import pytest

from tests.services import SERVICE_MISSING

# Playwright's sync API runs an event loop in this thread; the Django code the tests call
# (factories, assertions on the database) is still synchronous and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def chromium_path() -> str | None:
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured if Path(configured).exists() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser():
    executable = chromium_path()
    if not executable:
        pytest.skip(f"{SERVICE_MISSING} chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    """A page on the live server. Any Content-Security-Policy violation the browser reports
    (an inline script, a style or image from elsewhere) fails the test."""
    context = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield page
    context.close()
    assert violations == [], violations


@pytest.fixture
def axe(page):
    """`axe("label")` runs axe-core's WCAG 2.1 AA rules on the `page` fixture as it is now and
    fails listing each violation; call it after each navigation worth checking. For a page of
    another context, call `tests.browser.axe.assert_accessible(page, label)`."""
    from tests.browser.axe import assert_accessible

    return lambda label="": assert_accessible(page, label)


@pytest.fixture
def screenshot_dir() -> Path:
    """Where the browser run saves its screenshots (SCREENSHOT_DIR, default var/screenshots)."""
    folder = Path(
        os.environ.get("SCREENSHOT_DIR") or Path(__file__).parents[2] / "var" / "screenshots"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def sign_in(page, email: str, password: str | None = None) -> None:
    """Sign in through the real form."""
    from tests.factories import DEFAULT_PASSWORD

    page.goto("/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password or DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
