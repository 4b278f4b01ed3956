"""Who is asking: a bearer token (personal or integration), or a signed-in session (the
browsable pages, with Django's CSRF check on every write)."""

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from .tokens import token_find

TOKEN_INVALID = _("The token is not valid: it was revoked, it expired, or it is mistyped.")  # noqa: S105
HEADER_MALFORMED = _("Authorization: send “Bearer <token>”.")


class TokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer cspo_…`. request.auth is the ApiToken."""

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"bearer":
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(HEADER_MALFORMED)
        try:
            secret = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(TOKEN_INVALID) from None
        token = token_find(secret)
        if token is None:
            raise exceptions.AuthenticationFailed(TOKEN_INVALID)
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class SessionAuthentication(authentication.SessionAuthentication):
    """The signed-in person, for the browsable API and the schema's reference page."""
