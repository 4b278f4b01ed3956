"""How dates and amounts of units read on every page, email, export and PDF: one place, so a
holder never meets three date styles (and one place for translations to take over)."""

import datetime
from decimal import Decimal

from django.utils import dateformat

DATE_FORMAT = "j M Y"  # 14 May 2026


def day(value: datetime.date | None) -> str:
    """A calendar date in words-and-numbers ("14 May 2026"); "" for None. Never ambiguous
    between day-first and month-first readers, unlike 05/14/2026."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        value = value.date()
    return dateformat.format(value, DATE_FORMAT)


def units(value: Decimal | int | None) -> str:
    """Hours, SEU or PDU without trailing zeros ("25", "7.5", "0.25"); "0" for None."""
    if value is None:
        return "0"
    value = Decimal(value).normalize()
    return f"{value:f}"


def count(number: int, singular: str, plural: str | None = None) -> str:
    """ "1 day", "3 days"."""
    return f"{number} {singular if number == 1 else (plural or singular + 's')}"


def moment(value: datetime.datetime | None) -> str:
    """A point in time in the current time zone: "14 May 2026, 09:05"; "" for None."""
    if value is None:
        return ""
    from django.utils import timezone

    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return dateformat.format(value, f"{DATE_FORMAT}, H:i")
