"""Absolute links: every address that leaves the browser (emails, calendar feed, QR code, PDF)
is built here, from SITE_URL and never from a request's Host header."""

from django.conf import settings
from django.urls import reverse


def absolute_url(path_or_viewname: str, *args, **kwargs) -> str:
    """The absolute address of a path ("/verify/...") or of a URL name reversed with `args` or
    `kwargs` ("credentials:verify", code), on the site at settings.SITE_URL.

    SITE_URL is the site's origin (scheme, host, port); the settings strip its trailing slash,
    but a value set later (a test, a shell) may still carry one, so it is stripped here too and
    the address never has a double slash.
    """
    if path_or_viewname.startswith("/"):
        if args or kwargs:
            raise TypeError("Arguments are for a URL name, not for a path.")
        path = path_or_viewname
    else:
        path = reverse(path_or_viewname, args=args or None, kwargs=kwargs or None)
    return settings.SITE_URL.rstrip("/") + path
