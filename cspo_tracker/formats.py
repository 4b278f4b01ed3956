"""How dates, times, numbers, units and money read on every page, email, export, PDF and calendar
feed: one place, in the active language's locale (CLDR data through Babel), so a holder never
meets three date styles and a German reader sees "14. Mai 2026" and "7,5" while an English one
sees "14 May 2026" and "7.5".

The locale follows Django's active language (`translation.override(...)` in emails and tasks);
English uses CLDR's international English ("en_001": day-month-year, "US$" for dollars), so it
is never ambiguous between day-first and month-first readers.
"""

import datetime
import functools
from decimal import Decimal

from babel import Locale
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from django.utils import timezone, translation

# Django language code -> CLDR locale, where they differ.
_CLDR = {"en": "en_001", "zh-hans": "zh_Hans_CN", "pt-br": "pt_BR"}


@functools.cache
def _locale(language: str) -> Locale:
    name = _CLDR.get(language) or translation.to_locale(language)
    try:
        return Locale.parse(name)
    except (ValueError, LookupError):
        return Locale.parse("en_001")


def locale() -> Locale:
    """The CLDR locale of the active language (English outside a request)."""
    return _locale((translation.get_language() or "en").lower())


# English dates keep the short month names every English reader knows ("Sep", where CLDR's
# international English writes "Sept"), day first.
_ENGLISH_DAY = "d MMM yyyy"


def _english() -> bool:
    return locale().language == "en"


def day(value: datetime.date | None) -> str:
    """A calendar date with the month in words ("14 May 2026", "14. Mai 2026", "2026年5月14日");
    "" for None. A datetime is first put in the current time zone."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if _english():
        return babel_dates.format_date(value, _ENGLISH_DAY, locale="en")
    return babel_dates.format_skeleton("yMMMd", value, locale=locale())


def month(value: datetime.date | None) -> str:
    """A month and year ("May 2026", "Mai 2026", "2026年5月"); "" for None."""
    if value is None:
        return ""
    if _english():
        return babel_dates.format_date(value, "MMM y", locale="en")
    return babel_dates.format_skeleton("yMMM", value, locale=locale())


def moment(value: datetime.datetime | None) -> str:
    """A point in time in the current time zone ("14 May 2026, 09:05"); "" for None."""
    if value is None:
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    here = locale()
    pattern = here.datetime_formats["medium"]
    return pattern.format(babel_dates.format_skeleton("Hm", value, locale=here), day(value))


def units(value: Decimal | int | None) -> str:
    """Hours, SEU or PDU without trailing zeros or grouping ("25", "7.5" / "7,5", "0.25", "1000");
    "0" for None."""
    if value is None:
        value = 0
    value = Decimal(value)
    return babel_numbers.format_decimal(value, format="0.##", locale=locale())


def number(value: int | Decimal | None) -> str:
    """A count with the locale's grouping ("1,234", "1.234")."""
    return babel_numbers.format_decimal(value or 0, locale=locale())


def money(amount: Decimal | None, currency: str) -> str:
    """An amount in a currency (ISO 4217 code from the fee row) in the locale's style, without
    cents when it has none: "US$100", "100 $", "US$175.50"; "" for None."""
    if amount is None:
        return ""
    here = locale()
    pattern = here.currency_formats["standard"].pattern
    amount = Decimal(amount)
    if amount == amount.to_integral_value():
        pattern = pattern.replace("0.00", "0")
    return babel_numbers.format_currency(
        amount, currency, format=pattern, locale=here, currency_digits=False
    )


def count(number: int, singular: str, plural: str | None = None) -> str:
    """ "1 day", "3 days" (English words; translated texts use ngettext instead)."""
    return f"{number} {singular if number == 1 else (plural or singular + 's')}"
