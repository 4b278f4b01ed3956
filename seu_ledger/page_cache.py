"""The holder dashboard, cached as a whole page per holder and day.

The key holds the holder's `ledger_version` and the `RulesRevision`, which the database moves
on every write to a table the page reads (`seu_ledger.page_versions`: triggers, so no write
path can forget them), a digest of the holder's own row (the header shows their name), the day,
the language the page is drawn in, and a digest of the code and templates that draw the page,
so a new release never serves an old page. Both versions come with the signed-in user's row
(`AccountStateBackend.get_user`), so a page served from the cache costs no query beyond the
session's and the user's.

Why a cached page is never stale: the versions are read with the user, before any data the
page shows. A write commits its rows and its new version together; a request that starts after
the commit reads the new version and so a new key. A page stored under an old key was drawn
from data at least as new as that key.

The page holds a form token (the sign-out form). It is valid for the browser's CSRF cookie it
was made for, so the key holds a digest of that cookie too: a new cookie, a new page. (The
token is not re-masked per response; the page reflects no input an attacker could choose, which
is what that masking protects.)
"""

import datetime
import functools
import hashlib
from pathlib import Path

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import caches
from django.http import HttpResponse
from django.utils import timezone, translation

from .page_versions import rules_revision

SECONDS = 60 * 60
SOURCES = (
    "templates/base.html",
    "templates/includes/navbar.html",
    "templates/includes/messages.html",
    "templates/seu_ledger/dashboard.html",
    "templates/seu_ledger/includes/credential_card.html",
    "seu_ledger/selectors.py",
    "seu_ledger/ledger_rows.py",
    "seu_ledger/page_cache.py",
    "seu_ledger/page_versions.py",
    "seu_ledger/models.py",
    "credentials/models.py",
    "cspo_tracker/context_processors.py",
    "seu_ledger/units.py",
    "seu_ledger/templatetags/ledger.py",
    "credentials/selectors.py",
    "cspo_tracker/formats.py",
    "cspo_tracker/display.py",
    "credentials/templatetags/credential_status.py",
)


def rules_moment() -> datetime.datetime:
    """Now, floored to the quarter hour (UTC). Every time zone's date changes on a quarter
    hour, so a page keyed by it is never a day behind any issuer's calendar."""
    now = timezone.now().astimezone(datetime.UTC)
    return now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)


@functools.cache
def _release() -> str:
    digest = hashlib.sha256()
    for name in SOURCES:
        digest.update((Path(settings.BASE_DIR) / name).read_bytes())
    # The translations the page is drawn with: a corrected one draws it anew.
    for folder in settings.LOCALE_PATHS:
        for catalog in sorted(Path(folder).glob("*/LC_MESSAGES/django.po")):
            digest.update(catalog.read_bytes())
    return digest.hexdigest()[:12]


def cached_page(request, name: str, on, render_page) -> HttpResponse:
    """Serve `render_page()`'s page for the signed-in holder from the cache, rendering and
    storing it when missing. Staff (whose header differs with their role), a browser without a
    CSRF cookie yet, a page with a message to show, and a database whose rules revision is
    missing (emptied by hand) are always rendered."""
    user = request.user
    csrf_cookie = request.COOKIES.get(settings.CSRF_COOKIE_NAME)
    revision = rules_revision(user)
    if user.is_staff or not csrf_cookie or revision is None or len(get_messages(request)):
        return render_page()
    who = [str(getattr(user, field.attname)) for field in user._meta.concrete_fields]
    key = ":".join(
        [
            "page",
            name,
            _release(),
            str(user.pk),
            on.isoformat(),
            # The language and zone the page is rendered in (a visitor's may come from the
            # browser, not the account).
            translation.get_language() or "",
            timezone.get_current_timezone_name(),
            str(user.ledger_version),
            str(revision),
            hashlib.sha256("\0".join([*who, csrf_cookie]).encode()).hexdigest()[:16],
        ]
    )
    pages = caches["pages"]
    page = pages.get(key)
    if page is None:
        response = render_page()
        pages.set(key, response.content, SECONDS)
        return response
    return HttpResponse(page)
