"""Sign-in, sign-out, password reset by email and password change, through the real views."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from credentials.models import User

pytestmark = pytest.mark.django_db


def test_login_page_renders_the_crispy_form_in_the_base_layout(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'type="email"' in html
    assert 'autocomplete="email"' in html
    assert "bootstrap/css/bootstrap.min.css" in html
    assert 'class="navbar' in html
    assert "<footer" in html
    assert 'type="submit"' in html
    assert "Sign in" in html


def test_sign_in_with_the_email_in_any_case(client, holder, password):
    response = client.post(
        reverse("login"), {"username": "PAT@Example.com", "password": password}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("ledger:dashboard")
    assert response.context["user"] == holder
    assert "Your certifications" in response.content.decode()


def test_wrong_password_shows_a_clear_message_and_stays_signed_out(client, holder):
    response = client.post(reverse("login"), {"username": holder.email, "password": "nope"})
    assert response.status_code == 200
    assert "do not match an active account" in response.content.decode()
    assert not response.context["user"].is_authenticated


def test_inactive_account_cannot_sign_in(client, holder, password):
    holder.state = User.State.DEACTIVATED
    holder.save()
    response = client.post(reverse("login"), {"username": holder.email, "password": password})
    assert not response.context["user"].is_authenticated


def test_sign_out_is_a_post_and_returns_to_sign_in(client, holder):
    client.force_login(holder)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session


def test_signed_in_navbar_offers_sign_out_as_a_form(client, holder):
    client.force_login(holder)
    html = client.get(reverse("ledger:dashboard")).content.decode()
    assert f'action="{reverse("logout")}"' in html
    assert "Change password" in html
    assert "Staff admin" not in html


def test_staff_see_the_admin_link(client, staff_user):
    client.force_login(staff_user)
    assert "Staff admin" in client.get(reverse("ledger:dashboard")).content.decode()


def reset_link_from(message) -> str:
    match = re.search(r"http://testserver(/accounts/password/reset/[^\s\"]+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_password_reset_by_email_end_to_end(client, holder):
    response = client.post(reverse("password_reset"), {"email": "Pat@Example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["pat@example.com"]
    assert message.subject == "Set your CSPO Tracker password"
    html_part, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    link = reset_link_from(message)
    assert link in html_part

    # The token URL redirects to a session-bound "set-password" URL.
    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(
        set_url,
        {"new_password1": "a-brand-new-pass-2026", "new_password2": "a-brand-new-pass-2026"},
    )
    assert done.status_code == 302
    assert done["Location"] == reverse("password_reset_complete")
    holder.refresh_from_db()
    assert holder.check_password("a-brand-new-pass-2026")

    # A used link no longer works.
    again = client.get(link, follow=True)
    assert "This link no longer works" in again.content.decode()


def test_password_reset_for_an_unknown_address_sends_nothing_and_says_nothing(client):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert mail.outbox == []


def test_password_reset_with_a_malformed_address_names_the_field(client):
    response = client.post(reverse("password_reset"), {"email": "not-an-email"})
    assert response.status_code == 200
    assert response.context["form"].errors["email"] == ["Enter a valid email address."]


def test_password_reset_rejects_a_weak_password_next_to_the_field(client, holder):
    client.post(reverse("password_reset"), {"email": holder.email})
    form_page = client.get(reset_link_from(mail.outbox[0]), follow=True)
    response = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": "12345678", "new_password2": "12345678"}
    )
    assert response.status_code == 200
    errors = response.context["form"].errors["new_password2"]
    assert any("too common" in error for error in errors)
    holder.refresh_from_db()
    assert not holder.check_password("12345678")


def test_password_change_requires_sign_in(client):
    response = client.get(reverse("password_change"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_password_change_keeps_the_session_and_sets_the_new_password(client, holder, password):
    from django.test import Client

    other_browser = Client()
    other_browser.force_login(holder)
    client.force_login(holder)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": password,
            "new_password1": "another-strong-pass-77",
            "new_password2": "another-strong-pass-77",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("password_change_done")
    assert response.context["user"].is_authenticated
    holder.refresh_from_db()
    assert holder.check_password("another-strong-pass-77")
    # The page says what happened to the other browser.
    assert "Other browsers signed in as you are signed out" in response.content.decode()
    assert other_browser.get(reverse("password_change")).status_code == 302


def test_password_change_with_the_wrong_old_password_names_the_field(client, holder):
    client.force_login(holder)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "wrong",
            "new_password1": "x-9-strong-pass",
            "new_password2": "x-9-strong-pass",
        },
    )
    assert "old_password" in response.context["form"].errors


def test_admin_requires_staff(client, holder, staff_user):
    client.force_login(holder)
    assert client.get("/admin/").status_code == 403
    client.logout()
    assert client.get("/admin/").status_code == 302
    client.force_login(staff_user)
    assert client.get("/admin/").status_code == 200


def test_admin_adds_a_user_by_email(admin_client):
    response = admin_client.post(
        reverse("admin:credentials_user_add"),
        {
            "email": "New.Person@Example.com",
            "first_name": "New",
            "last_name": "Person",
            "password1": "a-strong-pass-4-admin",
            "password2": "a-strong-pass-4-admin",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert User.objects.filter(email="new.person@example.com").exists()


def test_admin_refuses_a_duplicate_email_in_another_case(admin_client, holder):
    response = admin_client.post(
        reverse("admin:credentials_user_add"),
        {
            "email": "PAT@example.com",
            "password1": "a-strong-pass-4-admin",
            "password2": "a-strong-pass-4-admin",
        },
    )
    assert response.status_code == 200
    assert User.objects.filter(email__iexact="pat@example.com").count() == 1
    assert "Someone already signs in with this email address." in response.content.decode()
