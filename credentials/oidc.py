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

from dataclasses import dataclass

from authlib.integrations.base_client import OAuthError
from authlib.integrations.django_client import OAuth
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from requests import RequestException

from .identity import canonical_email
from .models import Organisation, OrganisationMember, User
from .selectors import account_for_address

SCOPE = "openid email profile"
TIMEOUT = 10  # seconds, for each request to the identity provider
SESSION_KEY = "signed_in_through"  # the organisation whose provider signed this session in

NOT_CONFIGURED = "{organisation} has no identity provider set up for signing in."
PROVIDER_FAILED = (
    "{organisation}'s identity provider could not sign you in ({reason}). Try again, or ask "
    "your organisation admin."
)
NO_VERIFIED_EMAIL = (
    "{organisation}'s identity provider did not confirm an email address for you, so we "
    "cannot tell which member you are. Ask your organisation admin."
)
NOT_A_MEMBER = (
    "{email} is not a member of {organisation} here. Ask an organisation admin of "
    "{organisation} to add you."
)
OTHER_IDENTITY = (
    "Your membership of {organisation} is linked to another identity at its provider. Ask your "
    "organisation admin."
)
CANNOT_SIGN_IN = "This account cannot sign in: {state}. Contact the staff who manage it."


class OidcRefused(Exception):
    """A sign-in through an identity provider that cannot go on; the message says why."""


def metadata_url(issuer: str) -> str:
    """The discovery document's address for an issuer (OpenID Connect Discovery 1.0, 4)."""
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def oidc_client(organisation: Organisation):
    """authlib's Django client for the organisation's provider. Raises OidcRefused when the
    organisation has none set up."""
    if not organisation.oidc_configured:
        raise OidcRefused(NOT_CONFIGURED.format(organisation=organisation.name))
    return OAuth().register(
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


def oidc_redirect(*, request, organisation: Organisation, redirect_uri: str):
    """The redirect to the provider's sign-in page; the state, nonce and PKCE verifier wait
    in the session. Raises OidcRefused when the provider cannot be reached."""
    client = oidc_client(organisation)
    try:
        return client.authorize_redirect(request, redirect_uri)
    except (OAuthError, RequestException, ValueError, KeyError) as error:
        raise OidcRefused(
            PROVIDER_FAILED.format(organisation=organisation.name, reason=_reason(error))
        ) from error


def _reason(error: Exception) -> str:
    if isinstance(error, OAuthError):
        return error.description or error.error or "refused"
    if isinstance(error, RequestException):
        return "it did not answer"
    return "its answer was not valid"


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
        token = client.authorize_access_token(request)
        claims = token.get("userinfo")
        issuer = client.load_server_metadata().get("issuer", "")
    except (OAuthError, RequestException, ValueError, KeyError) as error:
        raise OidcRefused(
            PROVIDER_FAILED.format(organisation=organisation.name, reason=_reason(error))
        ) from error
    except Exception as error:  # authlib's joserfc errors: a token that does not check out
        if type(error).__module__.startswith(("joserfc", "authlib")):
            raise OidcRefused(
                PROVIDER_FAILED.format(
                    organisation=organisation.name, reason="its ID token did not check out"
                )
            ) from error
        raise
    if not claims or not claims.get("sub"):
        raise OidcRefused(
            PROVIDER_FAILED.format(organisation=organisation.name, reason="no ID token")
        )
    if issuer.rstrip("/") != organisation.oidc_issuer.rstrip("/"):
        raise OidcRefused(
            PROVIDER_FAILED.format(organisation=organisation.name, reason="it names another issuer")
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
        if user.state == User.State.INVITED:
            user.state = User.State.ACTIVE
            user.state_changed_at = timezone.now()
            user.save(update_fields=["state", "state_changed_at"])
        if user.state != User.State.ACTIVE or not user.is_active:
            raise OidcRefused(CANNOT_SIGN_IN.format(state=user.get_state_display().lower()))
    return user
