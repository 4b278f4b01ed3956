"""An authentication backend that refuses sign-in for an address past its ceiling of failures
(before any password is checked); placed after django-axes' own backend."""

from django.core.exceptions import PermissionDenied

from .accounts import sign_in_ceiling_reached
from .identity import email_throttle_key


class SignInCeilingBackend:
    """Refuse, without checking the password, an address that failed to sign in
    SIGN_IN_ADDRESS_CEILING times within SIGN_IN_ADDRESS_WINDOW from any clients. The request
    is marked so django-axes' middleware answers with the lockout page. It has no
    get_user(): it never signs anyone in, and sessions name the backend that did."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        key = email_throttle_key(username)
        if request is not None and key and sign_in_ceiling_reached(key):
            request.axes_locked_out = True
            request.sign_in_ceiling = True
            raise PermissionDenied("Sign-in for this address is paused.")
        return
