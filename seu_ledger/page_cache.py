"""The holder dashboard, cached as a whole page per holder and day.

The key holds the holder's `ledger_version`, which every write the page depends on moves
(`seu_ledger.receivers`, the roster import), their name and address (shown in the header), the
day, and a digest of the code and templates that draw the page, so a new release never serves
an old page. The row comes with the signed-in user, so a page served from the cache costs no
query beyond the session's.

The page holds a form token (the sign-out form). It is valid for the browser's CSRF cookie it
was made for, so the key holds a digest of that cookie too: a new cookie, a new page. (The
token is not re-masked per response; the page reflects no input an attacker could choose, which
is what that masking protects.)
"""

import functools
import hashlib
from pathlib import Path

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import caches
from django.http import HttpResponse

SECONDS = 60 * 60
SOURCES = (
    "templates/base.html",
    "templates/includes/navbar.html",
    "templates/includes/messages.html",
    "templates/seu_ledger/dashboard.html",
    "templates/seu_ledger/includes/credential_card.html",
    "seu_ledger/selectors.py",
    "seu_ledger/units.py",
    "seu_ledger/templatetags/ledger.py",
    "credentials/selectors.py",
    "cspo_tracker/formats.py",
    "cspo_tracker/display.py",
    "credentials/templatetags/credential_status.py",
)


@functools.cache
def _release() -> str:
    digest = hashlib.sha256()
    for name in SOURCES:
        digest.update((Path(settings.BASE_DIR) / name).read_bytes())
    return digest.hexdigest()[:12]


def cached_page(request, name: str, on, render_page) -> HttpResponse:
    """Serve `render_page()`'s page for the signed-in holder from the cache, rendering and
    storing it when missing. Staff (whose header differs with their role), a browser without a
    CSRF cookie yet, and a page with a message to show are always rendered."""
    user = request.user
    csrf_cookie = request.COOKIES.get(settings.CSRF_COOKIE_NAME)
    if user.is_staff or not csrf_cookie or len(get_messages(request)):
        return render_page()
    who = f"{user.first_name}\0{user.last_name}\0{user.email}\0{csrf_cookie}"
    key = ":".join(
        [
            "page",
            name,
            _release(),
            str(user.pk),
            on.isoformat(),
            str(user.ledger_version),
            hashlib.sha256(who.encode()).hexdigest()[:16],
        ]
    )
    pages = caches["pages"]
    page = pages.get(key)
    if page is None:
        response = render_page()
        pages.set(key, response.content, SECONDS)
        return response
    return HttpResponse(page)
