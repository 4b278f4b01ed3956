"""Request guards: staff areas answer 403 to signed-in holders; sign-in names for django-axes."""

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
