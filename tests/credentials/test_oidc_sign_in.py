"""Signing in through an organisation's identity provider (OpenID Connect), against a real
local provider (django-oauth-toolkit, started by the `oidc_provider` fixture): who may sign in,
what is refused and why, and the password sign-in an organisation can forbid its members."""

import html
import itertools
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from credentials.models import AccountSession, OrganisationMember, User
from tests.credentials.conftest import organisation_admin_form
from tests.factories import DEFAULT_PASSWORD, UserFactory, member_of, organisation, staff_in

pytestmark = pytest.mark.django_db

IDP_PASSWORD = "idp-secret"  # noqa: S105 - the test provider's accounts
CALLBACK = "http://testserver/accounts/sign-in/{slug}/callback/"
numbers = itertools.count()


def person(idp, *, verified=True):
    """A fresh address with an account at the provider (password IDP_PASSWORD)."""
    email = f"person{next(numbers)}@north.example"
    idp.add_user(email, IDP_PASSWORD, verified=verified, given="Pat", family="Person")
    return email


def sign_in_through(client, idp, slug, email, password=IDP_PASSWORD):
    """Start at our page, sign in at the provider, come back: our answer to the callback."""
    start = client.get(reverse("oidc_start", args=[slug]))
    assert start.status_code == 302, start.content[:500]
    authorize = start["Location"]
    assert authorize.startswith(idp.issuer)
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"]  # PKCE
    assert "nonce" in query
    back = idp.sign_in(authorize, email, password)
    assert back.startswith(CALLBACK.format(slug=slug)), back
    parts = urlsplit(back)
    return client.get(f"{parts.path}?{parts.query}")


def signed_in_as(client) -> int | None:
    value = client.session.get(SESSION_KEY)
    return int(value) if value else None


def test_a_member_signs_in_through_the_organisations_provider(client, idp, north):
    email = person(idp)
    trainer = member_of(north, email=email)
    response = sign_in_through(client, idp, "north", email)
    assert response.status_code == 302
    assert response["Location"] == reverse("organisations:list")
    assert signed_in_as(client) == trainer.pk
    member = OrganisationMember.objects.get(user=trainer)
    assert member.oidc_subject  # the provider's `sub`, recorded
    # The organisation page opens; the session says which provider signed it in.
    assert client.get(response["Location"], follow=True).status_code == 200
    assert client.session["signed_in_through"] == north.pk
    # Next time the subject finds the member, whatever address the account has by then.
    trainer.email = "renamed@north.example"
    trainer.save(update_fields=["email"])
    client.logout()
    sign_in_through(client, idp, "north", email)
    assert signed_in_as(client) == trainer.pk


def test_an_invited_member_becomes_active_through_the_provider(client, idp, north):
    email = person(idp)
    invited = User.objects.create_user(email)
    OrganisationMember.objects.create(organisation=north, user=invited, role="admin")
    assert invited.state == User.State.INVITED
    sign_in_through(client, idp, "north", email)
    assert signed_in_as(client) == invited.pk
    assert User.objects.get(pk=invited.pk).state == User.State.ACTIVE


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("not a member", "is not a member of North Academy here"),
        ("member elsewhere", "is not a member of North Academy here"),
        ("unverified", "did not confirm an email address"),
        ("deactivated", "cannot sign in"),
    ],
)
def test_the_provider_signs_in_nobody_but_a_member(client, idp, north, case, message):
    email = person(idp, verified=case != "unverified")
    if case == "member elsewhere":
        member_of(organisation("south"), email=email)
    elif case == "unverified":
        member_of(north, email=email)
    elif case == "deactivated":
        user = member_of(north, email=email)
        user.state = User.State.DEACTIVATED
        user.save(update_fields=["state"])
    else:
        UserFactory(email=email)  # a holder, not a member
    response = sign_in_through(client, idp, "north", email)
    assert response.status_code == 403
    assert message in response.content.decode()
    assert signed_in_as(client) is None
    assert not OrganisationMember.objects.exclude(oidc_subject="").exists()


def test_a_forged_or_replayed_callback_signs_nobody_in(client, idp, north):
    email = person(idp)
    member_of(north, email=email)
    start = client.get(reverse("oidc_start", args=["north"]))
    back = urlsplit(idp.sign_in(start["Location"], email, IDP_PASSWORD))
    query = parse_qs(back.query)
    forged = client.get(f"{back.path}?code={query['code'][0]}&state=forged")
    assert forged.status_code == 403
    assert signed_in_as(client) is None
    # The real state was spent by nothing yet, but a code is good once: replaying it fails.
    assert client.get(f"{back.path}?{back.query}").status_code == 302
    client.logout()
    replay = client.get(f"{back.path}?{back.query}")
    assert replay.status_code == 403
    assert signed_in_as(client) is None
    # The provider's own refusal is said in our words; its free text (anyone can put it in
    # a link) is never shown.
    denied = client.get(f"{back.path}?error=access_denied&error_description=Call+0800+now")
    assert denied.status_code == 403
    assert "you did not allow the sign-in" in denied.content.decode()
    assert "0800" not in denied.content.decode()
    odd = client.get(f"{back.path}?error=%3Cb%3Eodd%3C%2Fb%3E&error_description=x")
    assert "odd" not in odd.content.decode()


def test_a_provider_set_up_wrong_is_said_so(client, idp):
    email = person(idp)
    wrong = organisation(
        "wrong",
        oidc_issuer=idp.issuer,
        oidc_client_id=idp.client_id,
        oidc_client_secret="not-the-secret",
    )
    member_of(wrong, email=email)
    response = sign_in_through(client, idp, "wrong", email)
    assert response.status_code == 403
    assert "Wrong Academy's identity provider could not sign you in" in html.unescape(
        response.content.decode()
    )
    assert signed_in_as(client) is None
    unreachable = organisation(
        "gone", oidc_issuer="http://127.0.0.1:9/o", oidc_client_id="x", oidc_client_secret="y"
    )
    response = client.get(reverse("oidc_start", args=[unreachable.slug]))
    assert response.status_code == 502
    assert "it did not answer" in response.content.decode()
    none = organisation("none")
    response = client.get(reverse("oidc_start", args=[none.slug]))
    assert "has no identity provider set up" in response.content.decode()


def test_a_member_whose_organisation_requires_it_cannot_sign_in_with_a_password(client, idp, north):
    email = person(idp)
    trainer = member_of(north, email=email)  # has a password too
    login = reverse("login")
    page = client.get(login).content.decode()
    assert "Sign in through North Academy" in page
    # Not required yet: the password works.
    assert client.post(login, {"username": email, "password": DEFAULT_PASSWORD}).status_code == 302
    client.logout()
    north.oidc_required = True
    north.save()
    refused = client.post(login, {"username": email, "password": DEFAULT_PASSWORD})
    assert refused.status_code == 200
    assert "Members of North Academy sign in through its identity provider" in (
        refused.content.decode()
    )
    assert signed_in_as(client) is None
    # A wrong password says nothing about the organisation.
    wrong = client.post(login, {"username": email, "password": "nope"})
    assert "North Academy" not in wrong.content.decode().split("Sign in through")[0]
    # The staff sign-in refuses it too (before it says members are not staff).
    admin_login = client.post(
        reverse("admin:login"), {"username": email, "password": DEFAULT_PASSWORD}
    )
    assert admin_login.status_code == 200
    assert signed_in_as(client) is None
    # Through the provider, the same member signs in.
    sign_in_through(client, idp, "north", email)
    assert signed_in_as(client) == trainer.pk


def test_requiring_the_provider_ends_members_password_sessions(client, idp, north):
    trainer = member_of(north)
    holder = UserFactory()
    for user in (trainer, holder):
        other = client.__class__()
        assert (
            other.post(
                reverse("login"), {"username": user.email, "password": DEFAULT_PASSWORD}
            ).status_code
            == 302
        )
    assert AccountSession.objects.filter(account=trainer).count() == 1
    superuser = staff_in("superuser")
    client.force_login(superuser)
    url = reverse("admin:credentials_organisation_change", args=[north.pk])
    member = OrganisationMember.objects.get(user=trainer)
    form = organisation_admin_form(north, member, oidc_required="on")
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:3000]
    north.refresh_from_db()
    assert north.oidc_required
    assert north.oidc_client_secret == idp.client_secret
    assert not AccountSession.objects.filter(account=trainer).exists()
    assert AccountSession.objects.filter(account=holder).count() == 1


def test_an_invitation_to_a_member_who_must_use_the_provider_sets_no_password(client, north):
    from credentials.tokens import invitation_tokens
    from tests.test_authorization import uid_and_token

    north.oidc_required = True
    north.save()
    invited = User.objects.create_user("new.trainer@north.example")
    OrganisationMember.objects.create(organisation=north, user=invited)
    url = reverse("invitation_accept", kwargs=uid_and_token(invited, invitation_tokens))
    page = client.get(url).content.decode()
    assert "Sign in through North Academy" in page
    assert 'name="new_password1"' not in page
    client.post(url, {"new_password1": "x" * 20, "new_password2": "x" * 20, "licence": "on"})
    assert signed_in_as(client) is None
    assert not User.objects.get(pk=invited.pk).has_usable_password()
