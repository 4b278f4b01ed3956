"""The local OpenID Connect provider the sign-in tests rely on works as a real one: discovery, the
authorization code flow with authlib's plain OAuth2 client, RS256 id_tokens with the claims the
tracker reads. No database of the tracker's is involved."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import KeySet

REDIRECT_URI = "http://127.0.0.1:8999/sign-in/callback/"


@pytest.fixture(scope="module")
def provider(oidc_provider):
    oidc_provider.allow_redirect(REDIRECT_URI)
    return oidc_provider


@pytest.fixture(scope="module")
def discovery(provider):
    answer = requests.get(provider.metadata_url, timeout=10)
    assert answer.status_code == 200
    return answer.json()


def sign_in_with_authlib(provider, discovery, email, password, *, pkce=False):
    """The whole authorization code flow; returns the verified id_token claims and the token."""
    client = OAuth2Session(
        provider.client_id,
        provider.client_secret,
        scope="openid email profile",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256" if pkce else None,
    )
    nonce = generate_token(20)
    verifier = {"code_verifier": generate_token(48)} if pkce else {}
    url, state = client.create_authorization_url(
        discovery["authorization_endpoint"], nonce=nonce, **verifier
    )
    callback = provider.sign_in(url, email, password)

    assert callback.startswith(REDIRECT_URI)
    query = parse_qs(urlsplit(callback).query)
    assert query["state"] == [state]
    assert "code" in query
    token = client.fetch_token(
        discovery["token_endpoint"], authorization_response=callback, **verifier
    )

    keys = KeySet.import_key_set(requests.get(discovery["jwks_uri"], timeout=10).json())
    decoded = jwt.decode(token["id_token"], keys, algorithms=["RS256"])
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        {"iss": {"essential": True, "value": provider.issuer}},
        {"nonce": nonce, "client_id": provider.client_id, "access_token": token["access_token"]},
    )
    claims.validate()
    return claims, token


def test_discovery(provider, discovery):
    assert discovery["issuer"] == provider.issuer
    assert provider.issuer.startswith("http://127.0.0.1:")
    assert provider.issuer.endswith("/o")
    assert provider.metadata_url == provider.issuer + "/.well-known/openid-configuration"
    for endpoint in ("jwks_uri", "authorization_endpoint", "token_endpoint", "userinfo_endpoint"):
        assert discovery[endpoint].startswith(provider.issuer + "/")
    assert "RS256" in discovery["id_token_signing_alg_values_supported"]
    assert {"openid", "email", "profile"} <= set(discovery["scopes_supported"])
    assert {"email", "email_verified", "given_name"} <= set(discovery["claims_supported"])


def test_authorization_code_flow(provider, discovery):
    provider.add_user("ada@example.org", "correct horse", given="Ada", family="Lovelace")

    claims, token = sign_in_with_authlib(provider, discovery, "ada@example.org", "correct horse")

    assert claims["iss"] == provider.issuer
    assert claims["aud"] == provider.client_id
    assert claims["email"] == "ada@example.org"
    assert claims["email_verified"] is True
    assert claims["given_name"] == "Ada"
    assert claims["family_name"] == "Lovelace"
    assert claims["sub"].isdigit()
    userinfo = requests.get(
        discovery["userinfo_endpoint"],
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=10,
    ).json()
    assert userinfo["sub"] == claims["sub"]
    assert userinfo["email"] == "ada@example.org"


def test_unverified_email(provider, discovery):
    provider.add_user("bob@example.org", "s3cret pass", verified=False, given="Bob")

    # (This one with PKCE, which the provider checks when a client uses it.)
    claims, _ = sign_in_with_authlib(
        provider, discovery, "bob@example.org", "s3cret pass", pkce=True
    )

    assert claims["email"] == "bob@example.org"
    assert claims["email_verified"] is False


def test_wrong_password(provider, discovery):
    provider.add_user("cy@example.org", "right one")
    client = OAuth2Session(provider.client_id, scope="openid email", redirect_uri=REDIRECT_URI)
    url, _ = client.create_authorization_url(discovery["authorization_endpoint"], nonce="x")

    with pytest.raises(AssertionError, match="refused the sign-in"):
        provider.sign_in(url, "cy@example.org", "wrong one")
