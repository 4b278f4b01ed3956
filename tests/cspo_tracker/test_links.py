"""Every absolute link (pages, feed, QR code, PDF, emails) points at SITE_URL."""

import datetime
import io
import os
import re
import shlex
import subprocess
import sys

import pytest
import segno
import time_machine
from django.core import mail
from django.urls import NoReverseMatch, reverse
from pypdf import PdfReader

from credentials.services import calendar_token_for, credential_issue
from tests.conftest import PROJECT_ROOT
from tests.factories import UserFactory, program

SITE = "http://127.0.0.1:8111"
# The settings strip a trailing slash from the environment's value; one set later keeps it.
SITE_URLS = [SITE, SITE + "/"]


@pytest.fixture(params=SITE_URLS, ids=["bare", "trailing-slash"])
def site(request, settings):
    settings.SITE_URL = request.param
    return SITE


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(datetime.datetime(2025, 12, 1, 12, tzinfo=datetime.UTC), tick=False):
        yield


@pytest.fixture
def pat(db):
    user = UserFactory(email="pat@example.com", first_name="Pat")
    credential_issue(holder=user, program=program("CSPO"), issued_on=datetime.date(2024, 3, 15))
    return user


def links_in(text: str) -> list[str]:
    return re.findall(r"https?://[^\s\"<>)]+", text)


def assert_every_link_on(site: str, *parts: str) -> None:
    """Each part has at least one absolute link, all of them on `site`, none with `//` after
    the host."""
    for part in parts:
        links = links_in(part)
        assert links, part
        for link in links:
            assert link.startswith(site + "/"), link
            assert "//" not in link.removeprefix("http://"), link


# --- The builder ------------------------------------------------------------------------------


@pytest.mark.parametrize("site_url", SITE_URLS)
def test_absolute_url_joins_site_url_and_a_path_or_a_reversed_name(settings, site_url):
    from cspo_tracker.links import absolute_url

    settings.SITE_URL = site_url
    code = "3f2b8a52-1c1d-4a57-9d7e-5b3f1f0c2a11"
    assert absolute_url("/") == f"{SITE}/"
    assert absolute_url("/verify/x/") == f"{SITE}/verify/x/"
    assert absolute_url("home") == f"{SITE}/"
    assert absolute_url("credentials:verify", code) == f"{SITE}/verify/{code}/"
    confirm = absolute_url("email_change_confirm", token="abc")
    assert confirm == f"{SITE}/accounts/email/confirm/abc/"
    with pytest.raises(TypeError):
        absolute_url("/verify/x/", code)
    with pytest.raises(NoReverseMatch):
        absolute_url("verify/x/")


# --- Pages, feed, QR code and PDF ---------------------------------------------------------------


def test_the_calendar_page_shows_the_feed_on_site_url_and_the_feed_links_there(client, pat, site):
    client.force_login(pat)
    page = client.get(reverse("credentials:calendar"))
    feed_url = page.context["feed_url"]
    pat.refresh_from_db()
    token = calendar_token_for(pat)
    assert feed_url == f"{SITE}/calendar/{token}.ics"
    assert f'value="{feed_url}"' in page.content.decode()
    feed = client.get(feed_url.removeprefix(SITE)).content.decode()
    unfolded = feed.replace("\r\n ", "")
    assert_every_link_on(site, unfolded)


def test_the_verification_page_and_its_qr_code_point_at_site_url(client, pat, site):
    code = pat.credentials.get().verification_code
    expected = f"{SITE}/verify/{code}/"
    html = client.get(reverse("credentials:verify", args=[code])).content.decode()
    assert f"This page: {expected}" in html
    qr = client.get(reverse("credentials:verify_qr", args=[code])).content
    drawn = io.BytesIO()
    segno.make(expected, error="m").save(drawn, kind="svg", scale=4, dark="#000", light="#fff")
    assert qr == drawn.getvalue()


def test_the_transcript_pdf_says_verify_at_site_url(client, pat, site):
    credential = pat.credentials.get()
    client.force_login(pat)
    response = client.get(
        reverse("ledger:transcript", args=[credential.pk, credential.terms.get().pk])
    )
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert f"{SITE}/verify/{credential.verification_code}/" in text
    assert "//verify" not in text


# --- Emails: text and HTML parts ------------------------------------------------------------------


def parts(message) -> tuple[str, str]:
    (html, kind), *_ = message.alternatives
    assert kind == "text/html"
    return message.body, html


def test_invitation_email_links_to_site_url(db, site):
    from credentials.accounts import holder_invite
    from credentials.models import User

    holder_invite(holder=User.objects.create_user("nia@example.com", first_name="Nia"))
    (message,) = mail.outbox
    text, html = parts(message)
    assert_every_link_on(site, text, html)
    assert f"{SITE}/accounts/invitation/" in text


def test_password_reset_email_links_to_site_url(pat, site):
    from credentials.accounts import password_reset_request

    password_reset_request(email=pat.email)
    (message,) = mail.outbox
    text, html = parts(message)
    assert_every_link_on(site, text, html)
    assert f"{SITE}/accounts/password/reset/" in text


def test_sign_up_emails_link_to_site_url(pat, site):
    from credentials.accounts import holder_sign_up

    holder_sign_up(email="new@example.com", first_name="Ann", last_name="Lee", password="x-pass-42")
    holder_sign_up(email=pat.email, first_name="Pat", last_name="Owner", password="x-pass-42")
    confirm, attempt = mail.outbox
    assert f"{SITE}/accounts/sign-up/confirm/" in confirm.body
    assert f"{SITE}/accounts/login/" in attempt.body
    for message in (confirm, attempt):
        assert_every_link_on(site, *parts(message))


def test_address_change_emails_link_to_site_url(pat, site):
    from credentials.accounts import email_change_request

    email_change_request(user=pat, new_email="pat.new@example.com")
    confirm, notice = mail.outbox
    assert f"{SITE}/accounts/email/confirm/" in confirm.body
    assert f"{SITE}/accounts/email/cancel/" in notice.body
    for message in (confirm, notice):
        assert_every_link_on(site, *parts(message))


def test_reminder_email_links_to_site_url(pat, site):
    from seu_ledger.reminders.services import reminders_record, reminders_send_to_holder

    on = datetime.date(2025, 12, 15)  # 90 days before the CSPO's end: a reminder is due
    with time_machine.travel(datetime.datetime(2025, 12, 15, 9, tzinfo=datetime.UTC)):
        reminders_record(on=on)
        reminders_send_to_holder(holder_id=pat.pk, on=on)
    (message,) = mail.outbox
    text, html = parts(message)
    assert_every_link_on(site, text, html)
    assert f"{SITE}/dashboard/" in text
    assert message.extra_headers["List-Unsubscribe"].startswith(f"<{SITE}/reminders/unsubscribe/")


# --- make run --------------------------------------------------------------------------------


def make_run_environment(*make_args: str, **environment: str) -> dict[str, str]:
    """The variables `make run` sets for honcho (web, worker and beat), as `make -n` prints
    them, run from a shell whose environment holds only `environment`."""
    shell = {"PATH": os.environ["PATH"], **environment}
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "run", *make_args],
        cwd=PROJECT_ROOT,
        env=shell,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    (start,) = [line for line in result.stdout.splitlines() if "honcho" in line]
    words = shlex.split(start)
    assignments = words[: next(i for i, word in enumerate(words) if "=" not in word)]
    return {**shell, **dict(word.split("=", 1) for word in assignments)}


def settings_site_url(environment: dict[str, str], tmp_path) -> str:
    """SITE_URL and CSRF_TRUSTED_ORIGINS as a process started with `environment` reads them."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from cspo_tracker import settings as s; print(s.SITE_URL, *s.CSRF_TRUSTED_ORIGINS)",
        ],
        cwd=PROJECT_ROOT,
        env={**environment, "VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_make_run_points_links_at_the_port_it_listens_on(tmp_path):
    environment = make_run_environment("PORT=8111")
    assert environment["SITE_URL"] == SITE
    assert environment["WEB_PORT"] == "8111"
    assert settings_site_url(environment, tmp_path) == [SITE, SITE]


def test_make_run_links_a_wildcard_host_through_the_loopback_address(tmp_path):
    environment = make_run_environment(HOST="0.0.0.0", PORT="8111")  # noqa: S104
    assert environment["HOST"] == "0.0.0.0"  # noqa: S104 - listens everywhere
    assert settings_site_url(environment, tmp_path) == [SITE, SITE]


@pytest.mark.parametrize("where", ["environment", "command line"])
def test_make_run_keeps_a_site_url_that_is_set(tmp_path, where):
    site_url = "https://cspo.example.com"
    if where == "environment":
        environment = make_run_environment("PORT=8111", SITE_URL=site_url)
    else:
        environment = make_run_environment("PORT=8111", f"SITE_URL={site_url}")
    assert settings_site_url(environment, tmp_path) == [site_url, site_url]


def test_make_run_seeds_the_demo_with_the_same_site_url():
    """The demo's own emails (renewals, confirmed fees) link to the port the site listens on."""
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "run", "PORT=8111"],
        cwd=PROJECT_ROOT,
        env={key: value for key, value in os.environ.items() if key != "SITE_URL"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    (seed,) = [line for line in result.stdout.splitlines() if "seed_demo" in line]
    assert f"SITE_URL={SITE}" in seed.replace("'", "")
