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


def organisation_admin_form(organisation, member, **changes) -> dict:
    """The POST of the admin's change page of `organisation` with its one `member` inline, as
    the page shows them; `changes` replace fields ("members-0-user", "oidc_required"...)."""
    form = {
        "name": organisation.name,
        "slug": organisation.slug,
        "member_domains": organisation.member_domains,
        "website": organisation.website,
        "reply_to": organisation.reply_to,
        "oidc_issuer": organisation.oidc_issuer,
        "oidc_client_id": organisation.oidc_client_id,
        "oidc_client_secret": "",  # empty keeps the stored one
        "members-TOTAL_FORMS": "1",
        "members-INITIAL_FORMS": "1",
        "members-MIN_NUM_FORMS": "0",
        "members-MAX_NUM_FORMS": "1000",
        "members-0-id": member.pk,
        "members-0-organisation": organisation.pk,
        "members-0-user": member.user_id,
        "members-0-role": member.role,
    }
    return {**form, **changes}
