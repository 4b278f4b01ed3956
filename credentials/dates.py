"""Calendar arithmetic for terms. One rule, written once.

Adding months keeps the day of the month; where the target month is shorter, the result is that
month's last day. So a term issued on Feb 29 ends on Feb 28 two years later (or Feb 29 when the
end year is a leap year too, e.g. four years later), and Jan 31 + 1 month is Feb 28 (or 29).
"""

import calendar
import datetime


def add_months(day: datetime.date, months: int) -> datetime.date:
    """Return `day` moved by `months` calendar months (negative goes back), clamped to month end."""
    month_index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(month_index, 12)
    month += 1
    last_day = calendar.monthrange(year, month)[1]
    return datetime.date(year, month, min(day.day, last_day))


def add_years(day: datetime.date, years: int) -> datetime.date:
    """Return `day` moved by whole years: Feb 29 becomes Feb 28 in a common year."""
    return add_months(day, 12 * years)
