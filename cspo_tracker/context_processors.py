"""Template context shared by every page."""

import functools

from django.conf import settings
from django.urls import get_script_prefix, reverse


def site(request):
    """Expose the absolute site URL, for links that must work outside the browser."""
    return {"SITE_URL": settings.SITE_URL}


NAV_URLS = (
    "home",
    "healthz",
    "service_status",
    "login",
    "logout",
    "sign_up",
    "password_change",
    "account_profile",
    "account_preferences",
    "set_language",
    "api_tokens",
    "ledger:dashboard",
    "ledger:entry_create",
    "ledger:history",
    "credentials:calendar",
    "credentials:claim",
    "staff:queue",
    "staff:dashboard",
    "roster:history",
    "organisations:list",
    "admin:index",
)


@functools.cache
def _nav_urls(prefix: str) -> dict[str, str]:
    return {name.replace(":", "_"): reverse(name) for name in NAV_URLS}


def nav(request):
    """The addresses every page's header and footer link to, reversed once per process (they
    were a fifth of a cached dashboard's rendering time)."""
    return {"nav": _nav_urls(get_script_prefix())}
