"""Request guards: staff areas answer 403 to signed-in holders; pages are never stored by
browsers or proxies; who is signing in, for django-axes (the address and the client's IP)."""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

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


class NoStoreMiddleware:
    """Every page and file the app answers (dashboards, history, CSV, PDF, calendar, admin)
    carries `Cache-Control: no-store, private`, unless its view set its own Cache-Control:
    personal data stays out of shared caches and the browser's back-button cache after
    sign-out. Static files are served before this middleware and keep their long caching."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
        return response


def axes_username(request, credentials) -> str:
    """The key failed sign-ins are counted and checked under: the account's, as
    `credentials.selectors.sign_in_throttle_key` finds it, so every spelling (letter case,
    fullwidth letters, invisible characters) and every confirmed address of one account share
    one counter. django-axes files the address under AXES_USERNAME_FORM_FIELD in
    `credentials`; without it, the form's field is read."""
    from credentials.selectors import sign_in_throttle_key  # models: not at settings time

    credentials = credentials or {}
    raw = (
        credentials.get(settings.AXES_USERNAME_FORM_FIELD)
        or credentials.get("username")
        or request.POST.get("username", "")
    )
    return sign_in_throttle_key(raw)


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


def max_request_bytes(limit: int, message: str):
    """A view decorator: a request whose declared body is larger than `limit` bytes is
    answered 413 with `message` on a page by RequestSizeMiddleware, before anything reads
    the body (the CSRF check reads a form's fields, and with them every uploaded file, before
    the view runs)."""

    def mark(view):
        view.max_request_bytes = limit
        view.max_request_message = message
        return view

    return mark


class RequestSizeMiddleware:
    """Answers 413 for a view marked with `max_request_bytes` when the request declares a
    larger body. Placed before the CSRF middleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        limit = getattr(view_func, "max_request_bytes", None)
        if limit is None:
            return None
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared <= limit:
            return None
        response = render(
            request,
            "413.html",
            {"message": view_func.max_request_message},
            status=413,
        )
        response["Connection"] = "close"
        return response
