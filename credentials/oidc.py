"""Sign-in through a training organisation's identity provider: OpenID Connect's
authorization code flow with PKCE, by authlib's Django client, configured per organisation
from its row (issuer, client ID and secret) by platform staff (decision record 0017).

The provider's discovery document, keys and tokens are fetched by authlib; it checks the
state, the nonce and the ID token (signature against the provider's keys, issuer, audience,
expiry). We then find the member: by the subject (`sub`) recorded at their first sign-in,
else by the provider's verified email address among the organisation's members, and record
the subject. Nobody who is not a member of the organisation signs in this way, and no
account is created by it.
"""

import hashlib
import logging
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import OAuthError
from authlib.integrations.django_client import DjangoOAuth2App, OAuth
from authlib.integrations.requests_client import OAuth2Session
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from joserfc.errors import JoseError
from requests import RequestException, TooManyRedirects

from cspo_tracker.addresses import private_host

from .identity import canonical_email
from .models import Organisation, OrganisationMember, User
from .selectors import account_for_address

SCOPE = "openid email profile"
TIMEOUT = (3, 5)  # seconds to connect, then to read, for each request to the provider
METADATA_SECONDS = 3600  # the discovery document and keys are kept this long per issuer
REQUIRED_METADATA = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
# What a provider, its documents or its tokens can fail with: each becomes a refusal page.
PROVIDER_ERRORS = (
    AuthlibBaseError,
    JoseError,
    RequestException,
    ValueError,
    KeyError,
    TypeError,
    AttributeError,
    RuntimeError,
)
# The provider's own error codes (RFC 6749 4.1.2.1, OpenID Connect Core 3.1.2.6), in words;
# the description it sends along is logged, never shown (anyone can craft the link). Each is
# the {reason} of PROVIDER_FAILED ("it" is the identity provider).
PROVIDER_SAYS = {
    # Translators: why an identity provider did not sign someone in: the {reason} in
    # "...could not sign you in ({reason})". "It" is the identity provider.
    "access_denied": _("you did not allow the sign-in"),
    "login_required": _("you are not signed in there"),
    "consent_required": _("it needs your consent"),
    "interaction_required": _("it needs you to do something there first"),
    "invalid_client": _("it does not know this site's client; ask platform staff"),
    "unauthorized_client": _("it does not let this site sign people in; ask platform staff"),
    "invalid_grant": _("the sign-in expired or was used already"),
    "mismatching_state": _("the sign-in was not started here, or it expired"),
    "temporarily_unavailable": _("it is unavailable for a moment"),
    "server_error": _("it failed"),
}
logger = logging.getLogger(__name__)
SESSION_KEY = "signed_in_through"  # the organisation whose provider signed this session in

# Translators: {organisation} is a training organisation's name (here and below).
NOT_CONFIGURED = _("{organisation} has no identity provider set up for signing in.")
PROVIDER_FAILED = _(
    # Translators: {reason} says why, in a few words ("it did not answer").
    "{organisation}'s identity provider could not sign you in ({reason}). Try again, or ask "
    "your organisation admin."
)
NO_VERIFIED_EMAIL = _(
    "{organisation}'s identity provider did not confirm an email address for you, so we "
    "cannot tell which member you are. Ask your organisation admin."
)
NOT_A_MEMBER = _(
    "{email} is not a member of {organisation} here. Ask an organisation admin of "
    "{organisation} to add you."
)
OTHER_IDENTITY = _(
    "Your membership of {organisation} is linked to another identity at its provider. Ask your "
    "organisation admin."
)
OTHER_PROVIDER = _(
    "You are a member of {organisation}, which signs its members in through its own identity "
    "provider: sign in through {organisation}."
)
# Translators: {state} is the account's state in words ("a staff account", "deactivated by
# staff").
CANNOT_SIGN_IN = _("This account cannot sign in: {state}. Contact the staff who manage it.")


class OidcRefused(Exception):
    """A sign-in through an identity provider that cannot go on; the message says why."""


def metadata_url(issuer: str) -> str:
    """The discovery document's address for an issuer (OpenID Connect Discovery 1.0, 4)."""
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


class _Session(OAuth2Session):
    """authlib's requests session that follows no redirect: a provider's answer must come
    from the address `_address_problem` allowed, not from wherever it redirects."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_redirects = 0


class _App(DjangoOAuth2App):
    client_cls = _Session


class _OAuth(OAuth):
    oauth2_client_cls = _App


def _metadata_key(issuer: str) -> str:
    return "oidc-metadata:" + hashlib.sha256(issuer.encode()).hexdigest()


def oidc_client(organisation: Organisation):
    """authlib's Django client for the organisation's provider, with the discovery document
    and keys last read from its issuer (kept METADATA_SECONDS in the shared cache, so a
    sign-in costs the provider no extra round trips). Raises OidcRefused when the
    organisation has none set up, or its issuer is plain http where that is not allowed."""
    if not organisation.oidc_configured:
        raise OidcRefused(NOT_CONFIGURED.format(organisation=organisation.name))
    problem = _address_problem(organisation.oidc_issuer)
    if problem:
        raise OidcRefused(PROVIDER_FAILED.format(organisation=organisation.name, reason=problem))
    client = _OAuth().register(
        name=f"organisation-{organisation.pk}",
        client_id=organisation.oidc_client_id,
        client_secret=organisation.oidc_client_secret or None,
        server_metadata_url=metadata_url(organisation.oidc_issuer),
        client_kwargs={
            "scope": SCOPE,
            "code_challenge_method": "S256",
            "default_timeout": TIMEOUT,
        },
    )
    cached = cache.get(_metadata_key(organisation.oidc_issuer))
    fresh = isinstance(cached, dict) and isinstance(cached.get("_loaded_at"), int | float)
    if fresh and time.time() - cached["_loaded_at"] < METADATA_SECONDS:
        client.server_metadata.update(cached)  # else authlib reads the document again
    return client


def _address_problem(url: str) -> str:
    """Why the server may not send a request to `url` for a provider ("" when it may):
    https only (unless OIDC_ALLOW_HTTP), public addresses only (unless
    OIDC_ALLOW_PRIVATE_ADDRESSES): a discovery document names where the server posts the
    client's secret, so it must not point into the server's own network."""
    parts = urlsplit(url)
    if parts.scheme != "https" and not (settings.OIDC_ALLOW_HTTP and parts.scheme == "http"):
        # Translators: the {reason} of "...could not sign you in ({reason})"; "its" is the
        # identity provider's.
        return gettext("its address is not https")
    if not parts.hostname:
        return gettext("its address has no host")
    if not settings.OIDC_ALLOW_PRIVATE_ADDRESSES and private_host(parts.hostname):
        return gettext("its address is not on the public internet")
    return ""


def _checked_metadata(client, organisation: Organisation) -> dict:
    """The provider's discovery document, read (or from the cache), with what a sign-in
    needs, and where the server itself sends requests (token endpoint, keys) allowed by
    `_address_problem`; raises OidcRefused otherwise."""
    metadata = client.load_server_metadata()
    if not isinstance(metadata, dict) or not all(
        isinstance(metadata.get(key), str) and metadata.get(key) for key in REQUIRED_METADATA
    ):
        raise OidcRefused(
            PROVIDER_FAILED.format(
                organisation=organisation.name,
                reason=gettext("its discovery document is incomplete"),
            )
        )
    for key in ("token_endpoint", "jwks_uri"):
        if problem := _address_problem(metadata[key]):
            # Translators: {endpoint} is a technical name from the provider's discovery
            # document ("token endpoint", "jwks uri"); {problem} what is wrong with it.
            reason = gettext("its {endpoint}: {problem}").format(
                endpoint=key.replace("_", " "), problem=problem
            )
            raise OidcRefused(PROVIDER_FAILED.format(organisation=organisation.name, reason=reason))
    return metadata


def _keep_metadata(client, organisation: Organisation) -> None:
    """Keep what was read, until an hour after it was read (not after it was last used)."""
    metadata = dict(client.server_metadata)
    age = time.time() - metadata.get("_loaded_at", 0)
    if age < METADATA_SECONDS:
        cache.set(_metadata_key(organisation.oidc_issuer), metadata, METADATA_SECONDS - age)


def oidc_redirect(*, request, organisation: Organisation, redirect_uri: str):
    """The redirect to the provider's sign-in page; the state, nonce and PKCE verifier wait
    in the session. Raises OidcRefused when the provider cannot be reached."""
    client = oidc_client(organisation)
    try:
        _checked_metadata(client, organisation)
        response = client.authorize_redirect(request, redirect_uri)
    except PROVIDER_ERRORS as error:
        raise OidcRefused(
            PROVIDER_FAILED.format(organisation=organisation.name, reason=_reason(error))
        ) from error
    _keep_metadata(client, organisation)
    return response


def _reason(error: Exception) -> str:
    """The refusal in words, from our own list: a provider's free text is only logged."""
    if isinstance(error, OAuthError):
        logger.info("identity provider refused: %s %s", error.error, error.description)
        said = PROVIDER_SAYS.get(error.error or "")
        return str(said) if said is not None else gettext("it refused")
    if isinstance(error, TooManyRedirects):
        return gettext("it redirected the request elsewhere")
    if isinstance(error, RequestException):
        return gettext("it did not answer")
    if isinstance(error, JoseError):
        return gettext("its ID token did not check out")
    logger.warning("identity provider answer not usable: %r", error)
    return gettext("its answer was not valid")


@dataclass(frozen=True)
class OidcIdentity:
    subject: str
    email: str  # canonical, when the provider verified it; else ""


def oidc_identity(*, request, organisation: Organisation) -> OidcIdentity:
    """Finish the flow on the provider's redirect back: exchange the code, check the ID token
    (authlib: signature, issuer, audience, expiry, nonce) and that the issuer is the one
    configured. Raises OidcRefused saying why not."""
    client = oidc_client(organisation)
    try:
        # Checked before anything is sent (the document may have changed since the start).
        issuer = _checked_metadata(client, organisation)["issuer"]
        token = client.authorize_access_token(request)
        claims = token.get("userinfo")
    except PROVIDER_ERRORS as error:
        raise OidcRefused(
            PROVIDER_FAILED.format(organisation=organisation.name, reason=_reason(error))
        ) from error
    _keep_metadata(client, organisation)
    if not claims or not claims.get("sub") or len(str(claims["sub"])) > 255:
        raise OidcRefused(
            PROVIDER_FAILED.format(organisation=organisation.name, reason=gettext("no ID token"))
        )
    if issuer.rstrip("/") != organisation.oidc_issuer.rstrip("/"):
        raise OidcRefused(
            PROVIDER_FAILED.format(
                organisation=organisation.name, reason=gettext("it names another issuer")
            )
        )
    email = ""
    if claims.get("email") and claims.get("email_verified") is True:
        try:
            email = canonical_email(claims["email"])
        except ValidationError:
            email = ""
    return OidcIdentity(subject=str(claims["sub"]), email=email)


def oidc_member(*, organisation: Organisation, identity: OidcIdentity) -> User:
    """The member the provider signed in: the one whose recorded subject it is, else the
    member whose account has the provider's verified address (any confirmed address of the
    account), whose subject is then recorded. An invited member becomes active (the provider
    vouched for the address). Raises OidcRefused for anyone else, or an account that cannot
    sign in."""
    name = organisation.name
    with transaction.atomic():
        member = (
            OrganisationMember.objects.select_for_update()
            .select_related("user")
            .filter(organisation=organisation, oidc_subject=identity.subject)
            .first()
        )
        if member is None:
            if not identity.email:
                raise OidcRefused(NO_VERIFIED_EMAIL.format(organisation=name))
            account = account_for_address(identity.email)
            member = (
                OrganisationMember.objects.select_for_update()
                .select_related("user")
                .filter(organisation=organisation, user=account)
                .first()
                if account is not None
                else None
            )
            if member is None:
                raise OidcRefused(NOT_A_MEMBER.format(email=identity.email, organisation=name))
            if member.oidc_subject and member.oidc_subject != identity.subject:
                raise OidcRefused(OTHER_IDENTITY.format(organisation=name))
            member.oidc_subject = identity.subject
            try:
                with transaction.atomic():
                    member.save(update_fields=["oidc_subject"])
            except IntegrityError:
                raise OidcRefused(OTHER_IDENTITY.format(organisation=name)) from None
        user = member.user
        if user.is_staff or user.is_superuser:
            raise OidcRefused(CANNOT_SIGN_IN.format(state=gettext("a staff account")))
        requiring = set(
            OrganisationMember.objects.filter(
                user=user, organisation__oidc_required=True
            ).values_list("organisation_id", flat=True)
        )
        if requiring and organisation.pk not in requiring:
            other = Organisation.objects.filter(pk__in=requiring).order_by("name").first()
            raise OidcRefused(OTHER_PROVIDER.format(organisation=other.name))
        if user.state == User.State.INVITED:
            user.state = User.State.ACTIVE
            user.state_changed_at = timezone.now()
            user.save(update_fields=["state", "state_changed_at"])
        if user.state != User.State.ACTIVE or not user.is_active:
            raise OidcRefused(CANNOT_SIGN_IN.format(state=user.get_state_display().lower()))
    return user
