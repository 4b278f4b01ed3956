"""Sign-in throttling, password rules, the Content-Security-Policy and the production headers."""

import datetime
import re

import pytest
import time_machine
from django.urls import reverse

from tests.factories import DEFAULT_PASSWORD, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)


def sign_in(client, email, password, url=None):
    return client.post(url or reverse("login"), {"username": email, "password": password})


def test_five_failed_sign_ins_lock_that_address_out_for_15_minutes_with_a_clear_message(client):
    UserFactory(email="pat@example.com")
    UserFactory(email="sam@example.com")
    start = datetime.datetime(2026, 3, 1, 9, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False):
        for attempt in range(5):
            # Typed in any letter case, it is the same address; the fifth failure locks it.
            email = "PAT@example.com" if attempt % 2 else "pat@example.com"
            response = sign_in(client, email, "wrong password")
            assert response.status_code == (429 if attempt == 4 else 200)
        locked = sign_in(client, "pat@example.com", DEFAULT_PASSWORD)
        assert locked.status_code == 429
        page = locked.content.decode()
        assert "Too many failed sign-ins" in page
        assert "paused for 15 minutes" in page
        assert reverse("password_reset") in page
        assert "_auth_user_id" not in client.session
        # Someone else on the same network still signs in.
        assert sign_in(client, "sam@example.com", DEFAULT_PASSWORD).status_code == 302
        client.logout()
    with time_machine.travel(start + datetime.timedelta(minutes=16), tick=False):
        assert sign_in(client, "pat@example.com", DEFAULT_PASSWORD).status_code == 302


def test_a_forged_forwarded_for_header_does_not_dodge_the_lockout(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1  # one load balancer, which appends the address it saw
    UserFactory(email="pat@example.com")
    for attempt in range(5):
        forged = f"10.0.0.{attempt}, 203.0.113.7"  # the client's own entry comes first
        response = client.post(
            reverse("login"),
            {"username": "pat@example.com", "password": "guess"},
            HTTP_X_FORWARDED_FOR=forged,
        )
    assert response.status_code == 429
    locked = client.post(
        reverse("login"),
        {"username": "pat@example.com", "password": DEFAULT_PASSWORD},
        HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7",
    )
    assert locked.status_code == 429
    # The owner, elsewhere, is not locked out by someone else's guesses.
    owner = client.post(
        reverse("login"),
        {"username": "pat@example.com", "password": DEFAULT_PASSWORD},
        HTTP_X_FORWARDED_FOR="198.51.100.20",
    )
    assert owner.status_code == 302


def test_setting_a_new_password_from_a_reset_link_lifts_the_lockout(client):
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    from credentials.accounts import password_tokens

    user = UserFactory(email="pat@example.com")
    for _ in range(5):
        sign_in(client, "pat@example.com", "wrong")
    assert sign_in(client, "pat@example.com", DEFAULT_PASSWORD).status_code == 429
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    link = reverse("password_reset_confirm", args=[uid, password_tokens.make_token(user)])
    form = client.get(link, follow=True)
    new = "a much longer new secret 42"
    client.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert sign_in(client, "pat@example.com", new).status_code == 302


def test_the_staff_sign_in_is_throttled_too(client):
    StaffFactory(email="staff@example.com")
    url = reverse("admin:login")
    for _ in range(5):
        sign_in(client, "staff@example.com", "nope", url=url)
    assert sign_in(client, "staff@example.com", DEFAULT_PASSWORD, url=url).status_code == 429


def test_a_weak_password_is_refused_at_sign_up(client):
    response = client.post(
        reverse("sign_up"),
        {
            "email": "new@example.com",
            "first_name": "New",
            "last_name": "Person",
            "password1": "password",
            "password2": "password",
        },
    )
    assert response.status_code == 200
    assert "This password is too common." in response.content.decode()


def test_every_page_has_a_content_security_policy_without_inline_script(client):
    holder = UserFactory()
    pages = [reverse("home"), reverse("login"), reverse("sign_up")]
    for url in pages:
        response = client.get(url)
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
        assert "frame-ancestors 'none'" in policy
        assert not INLINE_SCRIPT.search(response.content.decode()), url
    client.force_login(holder)
    for url in (reverse("ledger:dashboard"), reverse("ledger:entry_create")):
        assert not INLINE_SCRIPT.search(client.get(url).content.decode()), url
    client.force_login(StaffFactory(is_superuser=True))
    for url in (reverse("staff:dashboard"), reverse("roster:upload"), reverse("admin:index")):
        response = client.get(url)
        assert "Content-Security-Policy" in response, url
        assert not INLINE_SCRIPT.search(response.content.decode()), url


def test_production_settings_have_secure_cookies_hsts_and_the_policy():
    """`check --deploy` is clean with them (tests/cspo_tracker/test_settings.py)."""
    from tests.cspo_tracker.test_settings import PRODUCTION_ENV, run_manage

    shown = run_manage(
        "shell",
        "-c",
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, "
        "'csp.middleware.CSPMiddleware' in s.MIDDLEWARE, s.AXES_FAILURE_LIMIT)",
        env_overrides=PRODUCTION_ENV,
    )
    last = shown.stdout.strip().splitlines()[-1]  # after the shell's own notice
    assert last.split() == ["True", "True", "31536000", "True", "5"], shown.stderr
