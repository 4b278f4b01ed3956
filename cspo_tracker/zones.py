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

# Region prefixes of legacy or machine-dependent names: "US/Pacific", "Etc/GMT+10", "posix/...",
# "right/..."; and names that are no place ("localtime", "Factory", "EST5EDT") have no "/".
LEGACY_REGIONS = {"Etc", "US", "SystemV", "posix", "right", "Brazil", "Canada", "Chile", "Mexico"}


@functools.cache
def available() -> frozenset[str]:
    """The zone names a person or program may have: IANA "Region/City" names and "UTC", without
    legacy aliases or names whose meaning depends on the machine ("localtime")."""
    return frozenset(
        name
        for name in zoneinfo.available_timezones()
        if "/" in name and name.split("/", 1)[0] not in LEGACY_REGIONS
    ) | {"UTC"}


@functools.cache
def choices() -> list[tuple[str, str]]:
    """(name, label) pairs for a select, in alphabetical order: "Europe/Berlin" reads
    "Europe / Berlin"."""
    return [(name, name.replace("/", " / ").replace("_", " ")) for name in sorted(available())]


def validate_time_zone(value: str) -> None:
    """Refuse a name that is not an IANA time zone (ValidationError naming it)."""
    if value and value not in available():
        raise ValidationError(
            _("%(value)s is not a time zone; choose one from the list, like Europe/Berlin."),
            code="time_zone",
            params={"value": value},
        )


def zone(name: str | None) -> zoneinfo.ZoneInfo:
    """The zone of a name; the site's default zone (settings.TIME_ZONE) for "" or None or a
    name no longer offered."""
    if name and name in available():
        return _zone(name)
    return _zone(settings.TIME_ZONE)


@functools.cache
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def local_date(name: str | None, at: datetime.datetime | None = None) -> datetime.date:
    """The calendar date in a zone at an instant (now by default)."""
    return (at or timezone.now()).astimezone(zone(name)).date()


def guess(value: str | None) -> str:
    """A browser's guess (Intl.DateTimeFormat().resolvedOptions().timeZone) kept when it names a
    known zone, "" otherwise (the site's default applies)."""
    value = (value or "").strip()
    return value if value in available() else ""
