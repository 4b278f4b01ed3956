"""Request guards: staff areas answer 403 to signed-in holders; who is signing in, for
django-axes (the address and the client's IP)."""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from credentials.models import normalize_email

STAFF_PREFIXES = ("/admin/", "/staff/")


class StaffAreaMiddleware:
    """A signed-in holder asking for a staff page gets 403 rather than the staff sign-in form
    (someone signed out is still sent to sign in)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.exempt = None

    def __call__(self, request):
        if self.exempt is None:
            self.exempt = (reverse("admin:login"), reverse("admin:logout"))
        path = request.path
        user = getattr(request, "user", None)
        if (
            path.startswith(STAFF_PREFIXES)
            and path not in self.exempt
            and user is not None
            and user.is_authenticated
            and not user.is_staff
        ):
            raise PermissionDenied
        return self.get_response(request)


def axes_username(request, credentials) -> str:
    """Count failed sign-ins per address however it is typed (case, spaces)."""
    raw = (credentials or {}).get("username") or request.POST.get("username", "")
    return normalize_email(raw)


def client_ip(request) -> str:
    """The client's address: the connection's, or behind TRUSTED_PROXY_COUNT proxies the
    X-Forwarded-For entry the outermost trusted proxy appended. Entries before it are the
    client's own say and are ignored, so a forged header cannot dodge the throttling."""
    count = settings.TRUSTED_PROXY_COUNT
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if count and len(forwarded) >= count:
        return forwarded[-count]
    return request.META.get("REMOTE_ADDR", "")
