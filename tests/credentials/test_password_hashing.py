"""How many password hashes each request computes, with the production hashers (Argon2id first,
PBKDF2 kept for hashes stored before it), counted per hasher method.

Every page that takes a password costs one hash, whatever the account: a right or wrong
password, an unknown address or an account with no password yet (the stand-in hash keeps the
timing the same), so a sign-in never pays for two. A refused attempt (paused, locked out, an
address refused as typed) checks nothing. A right password against a hash stored before
Argon2id also costs the one encode that stores it again as Argon2id: the price of upgrading,
once per account, and the next sign-in checks Argon2id alone. Pages that set a new password
right after checking the old one (password change) do not upgrade the old hash first.
"""

import functools

import pytest
from django.contrib.auth.hashers import get_hasher, make_password
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from credentials.models import User
from credentials.tokens import invitation_tokens, password_tokens, sign_up_tokens
from tests.factories import DEFAULT_PASSWORD, StaffFactory, UserFactory
from tests.hashers import PRODUCTION_HASHERS, hasher_calls

pytestmark = pytest.mark.django_db

PLAIN = "gia.grace@example.com"
NEW_PASSWORD = "a-brand-new-pass-2026"
ARGON2_VERIFY = {("argon2", "verify"): 1}
ARGON2_ENCODE = {("argon2", "encode"): 1}
PBKDF2_VERIFY = {("pbkdf2_sha256", "verify"): 1}
NOW = "as stored today"


@pytest.fixture(autouse=True)
def production_hashers(settings):
    settings.PASSWORD_HASHERS = PRODUCTION_HASHERS


def stored_hash(algorithm: str = NOW) -> str:
    """DEFAULT_PASSWORD as stored today (NOW: by the first of the production hashers) or as
    stored before Argon2id ("pbkdf2_sha256", Django's parameters)."""
    if algorithm == NOW:
        algorithm = get_hasher().algorithm
    return _stored_hash(algorithm)


@functools.cache
def _stored_hash(algorithm: str) -> str:
    # Made once a run: each costs what a sign-in does.
    return make_password(DEFAULT_PASSWORD, hasher=algorithm)


def account(email=PLAIN, *, stored=NOW, factory=UserFactory, **fields) -> User:
    """An account whose password is DEFAULT_PASSWORD as stored by `stored` (None: no
    password, as an invitation leaves it), made without hashing anything more."""
    user = factory(email=email, password=None, **fields)
    if stored is not None:
        User.objects.filter(pk=user.pk).update(password=stored_hash(stored))
        user.refresh_from_db()
    return user


def sign_in(client, email, password, url=None, **extra):
    return client.post(url or reverse("login"), {"username": email, "password": password}, **extra)


def counted(request, *args, **kwargs):
    """The response of `request(*args, **kwargs)` and the hashes it computed."""
    with hasher_calls() as calls:
        response = request(*args, **kwargs)
    return response, dict(calls)


def signed_in(client) -> bool:
    """Whether the client's session still signs it in (a changed password hash voids it)."""
    response = client.get(reverse("account_profile"))
    return response.status_code == 200


# --- Sign-in --------------------------------------------------------------------------------


SIGN_IN_ATTEMPTS = {
    # account state (None: no account), its stored hash, the password typed: hashes, signed in
    "right password": ("active", NOW, DEFAULT_PASSWORD, ARGON2_VERIFY, True),
    "wrong password": ("active", NOW, "not the password", ARGON2_VERIFY, False),
    "unknown address": (None, None, DEFAULT_PASSWORD, ARGON2_ENCODE, False),
    "invited, no password yet": ("invited", None, DEFAULT_PASSWORD, ARGON2_ENCODE, False),
    "pending, right password": ("pending", NOW, DEFAULT_PASSWORD, ARGON2_VERIFY, False),
    "pending, wrong password": ("pending", NOW, "not the password", ARGON2_VERIFY, False),
    "deactivated, right password": (
        "deactivated",
        NOW,
        DEFAULT_PASSWORD,
        ARGON2_VERIFY,
        False,
    ),
    "deactivated, wrong password": (
        "deactivated",
        NOW,
        "not the password",
        ARGON2_VERIFY,
        False,
    ),
}


@pytest.mark.parametrize(
    ("state", "stored", "typed", "hashes", "admitted"),
    SIGN_IN_ATTEMPTS.values(),
    ids=SIGN_IN_ATTEMPTS.keys(),
)
def test_a_sign_in_attempt_costs_one_argon2_hash_whatever_the_account(
    client, state, stored, typed, hashes, admitted
):
    """One hash, never two and never none: an unknown address or an account with no password
    pays for a stand-in Argon2id hash, as long as checking a stored one takes."""
    if state is not None:
        account(stored=stored, state=state)
    response, calls = counted(sign_in, client, PLAIN, typed)
    assert calls == hashes
    assert ("_auth_user_id" in client.session) == admitted
    assert response.status_code == (302 if admitted else 200)


def test_a_right_password_for_an_account_that_cannot_sign_in_says_why_for_one_hash(client):
    account(state=User.State.PENDING)
    response, calls = counted(sign_in, client, PLAIN, DEFAULT_PASSWORD)
    assert calls == ARGON2_VERIFY
    assert "Your address is not confirmed yet" in response.content.decode()


def test_a_locked_out_client_checks_no_password(client):
    account()
    for _ in range(5):
        sign_in(client, PLAIN, "not the password")
    response, calls = counted(sign_in, client, PLAIN, DEFAULT_PASSWORD)
    assert response.status_code == 429
    assert calls == {}


def test_a_paused_address_checks_no_password(client, settings):
    settings.SIGN_IN_ADDRESS_CEILING = 3
    account()
    for n in range(3):
        sign_in(client, PLAIN, "not the password", REMOTE_ADDR=f"198.51.100.{n}")
    response, calls = counted(sign_in, client, PLAIN, DEFAULT_PASSWORD, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 429
    assert calls == {}


def test_an_address_refused_as_typed_checks_no_password(client):
    account()
    response, calls = counted(sign_in, client, "gia.grace\u200b@example.com", DEFAULT_PASSWORD)
    assert response.status_code == 200
    assert calls == {}


def test_a_pbkdf2_hash_is_stored_again_as_argon2_at_the_next_sign_in(client):
    """The first sign-in checks the old hash and stores the password as Argon2id (one encode,
    once per account); from then on a sign-in checks Argon2id alone."""
    user = account(stored="pbkdf2_sha256")
    response, calls = counted(sign_in, client, PLAIN, DEFAULT_PASSWORD)
    assert response.status_code == 302
    assert calls == {**PBKDF2_VERIFY, **ARGON2_ENCODE}
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")
    client.post(reverse("logout"))

    response, calls = counted(sign_in, client, PLAIN, DEFAULT_PASSWORD)
    assert response.status_code == 302
    assert calls == ARGON2_VERIFY


def test_a_wrong_password_against_a_pbkdf2_hash_costs_one_check_and_keeps_the_hash(client):
    user = account(stored="pbkdf2_sha256")
    response, calls = counted(sign_in, client, PLAIN, "not the password")
    assert response.status_code == 200
    assert calls == PBKDF2_VERIFY
    user.refresh_from_db()
    assert user.password == stored_hash("pbkdf2_sha256")


def test_an_unknown_address_at_the_staff_sign_in_costs_one_argon2_hash(client):
    response, calls = counted(sign_in, client, PLAIN, DEFAULT_PASSWORD, url=reverse("admin:login"))
    assert response.status_code == 200
    assert calls == ARGON2_ENCODE


def test_the_staff_sign_in_upgrades_a_pbkdf2_hash_too(client):
    account(stored="pbkdf2_sha256", factory=StaffFactory)
    response, calls = counted(sign_in, client, PLAIN, DEFAULT_PASSWORD, url=reverse("admin:login"))
    assert response.status_code == 302
    assert calls == {**PBKDF2_VERIFY, **ARGON2_ENCODE}
    assert User.objects.get(email=PLAIN).password.startswith("argon2$argon2id$")


# --- Joining ----------------------------------------------------------------------------------


def sign_up_data(email):
    return {
        "email": email,
        "first_name": "Gia",
        "last_name": "Grace",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
        "accept_licence": "on",
    }


@pytest.mark.parametrize("known", [False, True], ids=["new address", "known address"])
def test_a_sign_up_costs_one_argon2_hash_whether_or_not_the_address_is_known(client, known):
    if known:
        account()
    response, calls = counted(client.post, reverse("sign_up"), sign_up_data(PLAIN))
    assert response.status_code == 302
    assert calls == ARGON2_ENCODE


def link(url_name, user, tokens) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse(url_name, args=[uid, tokens.make_token(user)])


@pytest.mark.parametrize("stored", [NOW, "pbkdf2_sha256"], ids=["argon2", "pbkdf2"])
def test_confirming_a_sign_up_checks_the_password_once(client, stored):
    """A sign-up made before Argon2id is confirmed as a sign-in is: one check, and the
    upgrade's one encode for an old hash."""
    user = account(stored=stored, state=User.State.PENDING)
    url = link("sign_up_confirm", user, sign_up_tokens)
    response, calls = counted(client.post, url, {"password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert calls == (ARGON2_VERIFY if stored == NOW else {**PBKDF2_VERIFY, **ARGON2_ENCODE})
    assert signed_in(client)


def test_accepting_an_invitation_costs_one_argon2_hash(client):
    user = account(stored=None, state=User.State.INVITED)
    url = link("invitation_accept", user, invitation_tokens)
    data = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD, "accept_licence": "on"}
    response, calls = counted(client.post, url, data)
    assert response.status_code == 302
    assert calls == ARGON2_ENCODE


# --- Password links and changes ---------------------------------------------------------------


def test_asking_for_a_password_link_hashes_nothing(client):
    account()
    response, calls = counted(client.post, reverse("password_reset"), {"email": PLAIN})
    assert response.status_code == 302
    assert calls == {}


@pytest.mark.parametrize("stored", [NOW, "pbkdf2_sha256"], ids=["argon2", "pbkdf2"])
def test_a_new_password_from_an_emailed_link_costs_one_argon2_hash(client, stored):
    user = account(stored=stored)
    form = client.get(link("password_reset_confirm", user, password_tokens), follow=True)
    data = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    response, calls = counted(client.post, form.redirect_chain[-1][0], data)
    assert response.status_code == 302
    assert calls == ARGON2_ENCODE


def change_password(client, old=DEFAULT_PASSWORD, new=NEW_PASSWORD, again=NEW_PASSWORD):
    data = {"old_password": old, "new_password1": new, "new_password2": again}
    return client.post(reverse("password_change"), data)


@pytest.mark.parametrize("stored", [NOW, "pbkdf2_sha256"], ids=["argon2", "pbkdf2"])
def test_a_password_change_checks_the_old_once_and_hashes_the_new_once(client, stored):
    """An old hash is not upgraded on the way: the new password replaces it at once, so
    storing the old one as Argon2id first would be a second encode for nothing."""
    user = account(stored=stored)
    client.force_login(user)
    response, calls = counted(change_password, client)
    assert response.status_code == 302
    checked = ARGON2_VERIFY if stored == NOW else PBKDF2_VERIFY
    assert calls == {**checked, **ARGON2_ENCODE}
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")
    assert signed_in(client)


def test_a_refused_password_change_leaves_an_old_hash_and_the_session_alone(client):
    """The old password was right but the new one is refused: nothing is stored, so the
    session (whose check covers the stored hash) still signs the holder in."""
    user = account(stored="pbkdf2_sha256")
    client.force_login(user)
    response, calls = counted(change_password, client, again="a-different-pass-2026")
    assert response.status_code == 200
    assert calls == PBKDF2_VERIFY
    user.refresh_from_db()
    assert user.password == stored_hash("pbkdf2_sha256")
    assert signed_in(client)


def test_an_address_change_checks_the_password_once_and_keeps_the_session(client):
    """The profile asks for the password to change the address: one check, no upgrade of an
    old hash (it would sign the holder out of this very session)."""
    user = account(stored="pbkdf2_sha256", first_name="Gia", last_name="Grace")
    client.force_login(user)
    data = {
        "first_name": "Gia",
        "last_name": "Grace",
        "email": "gia@new.example",
        "current_password": DEFAULT_PASSWORD,
    }
    response, calls = counted(client.post, reverse("account_profile"), data)
    assert response.status_code == 302
    assert calls == PBKDF2_VERIFY
    user.refresh_from_db()
    assert user.pending_email == "gia@new.example"
    assert signed_in(client)


# --- Staff setting passwords in the admin -----------------------------------------------------


def test_staff_adding_a_person_with_a_password_costs_one_argon2_hash(client):
    client.force_login(account("boss@example.com", factory=StaffFactory, is_superuser=True))
    data = {
        "email": PLAIN,
        "first_name": "Gia",
        "last_name": "Grace",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
    }
    response, calls = counted(client.post, reverse("admin:credentials_user_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert calls == ARGON2_ENCODE


def test_staff_setting_a_password_in_the_admin_costs_one_argon2_hash(client):
    client.force_login(account("boss@example.com", factory=StaffFactory, is_superuser=True))
    user = account()
    url = reverse("admin:auth_user_password_change", args=[user.pk])
    data = {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"}
    response, calls = counted(client.post, url, data)
    assert response.status_code == 302
    assert calls == ARGON2_ENCODE
