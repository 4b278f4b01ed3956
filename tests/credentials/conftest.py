"""Fixtures of the credentials tests: an organisation signing its members in through the
local OpenID Connect provider (`tests/oidc_provider`)."""

import pytest

from tests.factories import organisation

CALLBACK = "http://testserver/accounts/sign-in/{slug}/callback/"


@pytest.fixture(scope="session")
def idp(oidc_provider):
    """The provider, with the test server's callback of the organisations below allowed
    (once: each registration runs the provider's setup in a process of its own)."""
    for slug in ("north", "wrong"):
        oidc_provider.allow_redirect(CALLBACK.format(slug=slug))
    return oidc_provider


@pytest.fixture
def north(idp):
    return organisation(
        "north",
        oidc_issuer=idp.issuer,
        oidc_client_id=idp.client_id,
        oidc_client_secret=idp.client_secret,
    )
