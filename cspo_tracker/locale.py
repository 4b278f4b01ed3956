"""The reader's language and time zone for each request.

Django's LocaleMiddleware (earlier in the chain) picks the language for visitors: the language
cookie the picker sets, else the browser's Accept-Language, else English. Once the request is
authenticated, this middleware puts the account's saved choices first: its language (so staff
read the admin in theirs, and a holder's pages match the emails sent to them) and its time zone
(every date and time shown in it). An account with neither keeps what the visitor would get.
"""

import contextlib

from django.utils import timezone, translation

from .zones import zone


class PreferencesMiddleware:
    """After authentication: activate the signed-in account's language and time zone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        language = getattr(user, "language", "") if user is not None else ""
        if language and user.is_authenticated:
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
        time_zone = getattr(user, "time_zone", "") if user is not None else ""
        if time_zone and user.is_authenticated:
            timezone.activate(zone(time_zone))
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


@contextlib.contextmanager
def reading_as(account, *, default_language: str | None = None):
    """Within the block, texts and dates are in the account's saved language and time zone
    (an email, a PDF or a calendar feed made for it outside its own request). The zone is the
    site's (TIME_ZONE) for an account without one. Without a saved language, the text stays in
    the active language (the request's: the account's own browser when it asked itself), or in
    `default_language` when given: what staff cause for a holder (a fee confirmed, a PDF
    downloaded for them) goes in the site's language, never the staff member's."""
    language = getattr(account, "language", "") or default_language or ""
    time_zone = getattr(account, "time_zone", "") or ""
    with contextlib.ExitStack() as stack:
        if language:
            stack.enter_context(translation.override(language))
        if account is not None:
            stack.enter_context(timezone.override(zone(time_zone)))
        yield
