"""API tokens: made, found and revoked here, by every path (pages, admin, tests)."""

import hashlib
import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from credentials.models import User

from .models import ApiToken, Scope

PREFIXES = {ApiToken.Kind.PERSONAL: "cspo_pat_", ApiToken.Kind.INTEGRATION: "cspo_int_"}
NAME_REQUIRED = _("Name: say what the token is for, so you can tell it apart later.")
NAME_TOO_LONG = _("Name: at most 100 characters.")
SCOPES_REQUIRED = _("Scopes: choose at least one thing the integration may do.")
SCOPE_UNKNOWN = _("Scopes: “{scope}” is not a scope.")
NOT_STAFF = _("An integration token acts for a staff member; {email} is not staff.")
EXPIRES_PAST = _("Expires: the date has passed already.")
NOT_YOURS = _("Acts for: only a superuser makes a token that acts for someone else.")
# The last-used time is written at most this often per token: not one UPDATE per request.
LAST_USED_EVERY = timezone.timedelta(minutes=1)


@dataclass(frozen=True)
class NewToken:
    """A token just made: `secret` is the only copy of the token itself, shown once."""

    token: ApiToken
    secret: str


def digest(secret: str) -> str:
    """SHA-256 of a token, in hex. Tokens are 256 random bits: a slow hash adds nothing."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def token_create(
    *,
    user: User,
    kind: str,
    name: str,
    scopes: list[str] | None = None,
    expires_at=None,
    created_by: User | None = None,
) -> NewToken:
    """Make a token for `user`. A personal token reaches the holder's own records (no scopes);
    an integration token acts for a staff member with the `scopes` given (Scope values), bound
    by that member's permissions. Raises ValidationError by field (name, scopes, expires_at)."""
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [NAME_REQUIRED]
    elif len(name) > 100:
        errors["name"] = [NAME_TOO_LONG]
    scopes = sorted(set(scopes or ()))
    if kind == ApiToken.Kind.INTEGRATION:
        unknown = [scope for scope in scopes if scope not in Scope.values]
        if unknown:
            errors["scopes"] = [SCOPE_UNKNOWN.format(scope=unknown[0])]
        elif not scopes:
            errors["scopes"] = [SCOPES_REQUIRED]
        if not user.is_staff:
            errors["user"] = [NOT_STAFF.format(email=user.email)]
        elif created_by is not None and created_by != user and not created_by.is_superuser:
            # A token acting for someone else would hand its maker their permissions.
            errors["user"] = [NOT_YOURS]
    else:
        scopes = []
    if expires_at is not None and expires_at <= timezone.now():
        errors["expires_at"] = [EXPIRES_PAST]
    if errors:
        raise ValidationError(errors)
    secret = PREFIXES[ApiToken.Kind(kind)] + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        kind=kind,
        user=user,
        name=name,
        scopes=scopes,
        prefix=secret[:13],
        digest=digest(secret),
        expires_at=expires_at,
        created_by=created_by or user,
    )
    return NewToken(token=token, secret=secret)


def token_revoke(*, token: ApiToken) -> ApiToken:
    """Stop a token working, from the next request on. Revoking again changes nothing."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=token.revoked_at
        )
    return token


def token_find(secret: str) -> ApiToken | None:
    """The live token with this secret (not revoked, not expired, its account active), or
    None. Marks it used (at most once a minute)."""
    if not secret or len(secret) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=digest(secret), revoked_at__isnull=True)
        .first()
    )
    now = timezone.now()
    if token is None or not token.user.is_active:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
