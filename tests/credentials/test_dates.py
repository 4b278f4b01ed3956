"""Adding months and years: the one date rule terms are built on."""

import calendar
import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credentials.dates import add_months, add_years

dates = st.dates(min_value=datetime.date(1900, 1, 1), max_value=datetime.date(2300, 12, 31))


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2024-02-29", 24, "2026-02-28"),
        ("2024-02-29", 48, "2028-02-29"),
        ("2024-02-29", 12, "2025-02-28"),
        ("2024-02-29", -12, "2023-02-28"),
        ("2023-02-28", 12, "2024-02-28"),
        ("2024-01-31", 1, "2024-02-29"),
        ("2025-01-31", 1, "2025-02-28"),
        ("2024-12-31", 24, "2026-12-31"),
        ("2024-12-15", 1, "2025-01-15"),
        ("2025-01-15", -1, "2024-12-15"),
        ("2024-03-31", -1, "2024-02-29"),
    ],
)
def test_add_months_examples(start, months, expected):
    assert add_months(datetime.date.fromisoformat(start), months).isoformat() == expected


@given(day=dates, months=st.integers(min_value=-1200, max_value=1200))
def test_add_months_moves_whole_months_and_keeps_the_day_when_it_exists(day, months):
    result = add_months(day, months)
    assert (result.year * 12 + result.month) - (day.year * 12 + day.month) == months
    last_day = calendar.monthrange(result.year, result.month)[1]
    assert result.day == min(day.day, last_day)


@given(day=dates, years=st.integers(min_value=-100, max_value=100))
def test_add_years_is_reversible_except_from_feb_29(day, years):
    moved = add_years(day, years)
    if (day.month, day.day) != (2, 29):
        assert add_years(moved, -years) == day
    elif calendar.isleap(moved.year):
        assert (moved.month, moved.day) == (2, 29)
    else:
        assert (moved.month, moved.day) == (2, 28)
