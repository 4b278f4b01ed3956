"""Time zones: the names a person or a program may choose, and what "now" and "today" are in one.

Zones are IANA names ("Europe/Berlin", "Pacific/Kiritimati"), read from the `tzdata` package
where the system has none. An empty name means the site's default zone (settings.TIME_ZONE).
"""

import datetime
import functools
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


@functools.cache
def available() -> frozenset[str]:
    """Every IANA zone name this machine knows, without the legacy aliases' duplicates."""
    return frozenset(zoneinfo.available_timezones())


@functools.cache
def choices() -> list[tuple[str, str]]:
    """(name, label) pairs for a select, grouped by region in alphabetical order: "Europe/Berlin"
    reads "Europe / Berlin". Legacy names ("US/Pacific", "Etc/GMT+10") are left out; they stay
    valid when typed or sent by a browser."""
    names = sorted(
        name
        for name in available()
        if "/" in name and name.split("/", 1)[0] not in {"Etc", "US", "SystemV", "posix", "right"}
    )
    return [(name, name.replace("/", " / ").replace("_", " ")) for name in names + ["UTC"]]


def validate_time_zone(value: str) -> None:
    """Refuse a name that is not an IANA time zone (ValidationError naming it)."""
    if value and value not in available():
        raise ValidationError(
            _("%(value)s is not a time zone; choose one from the list, like Europe/Berlin."),
            code="time_zone",
            params={"value": value},
        )


@functools.cache
def zone(name: str | None) -> zoneinfo.ZoneInfo:
    """The zone of a name; the site's default zone for "" or None or a name no longer known."""
    if name and name in available():
        return zoneinfo.ZoneInfo(name)
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def local_date(name: str | None, at: datetime.datetime | None = None) -> datetime.date:
    """The calendar date in a zone at an instant (now by default)."""
    return (at or timezone.now()).astimezone(zone(name)).date()


def guess(value: str | None) -> str:
    """A browser's guess (Intl.DateTimeFormat().resolvedOptions().timeZone) kept when it names a
    known zone, "" otherwise (the site's default applies)."""
    value = (value or "").strip()
    return value if value in available() else ""
