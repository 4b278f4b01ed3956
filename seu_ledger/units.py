"""Counting units toward a renewal, as a pure function over plain values.

Kept free of the database so the rules can be tested exhaustively (hypothesis) and so a page can
count thousands of entries from one query.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal(0)


@dataclass(frozen=True)
class EntryFacts:
    """What counting needs to know about one logged activity."""

    entry_id: int
    activity_date: datetime.date
    category_id: int  # the category it counts under for the issuer being renewed
    hours: Decimal
    title: str = ""


@dataclass(frozen=True)
class CountingRules:
    window_start: datetime.date
    window_end: datetime.date
    units_required: Decimal
    daily_cap: Decimal | None = None
    category_min: dict[int, Decimal] = field(default_factory=dict)
    category_max: dict[int, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class UnitBalance:
    counted: Decimal
    required: Decimal
    by_category: dict[int, Decimal]
    missing_by_category: dict[int, Decimal]
    entry_ids: frozenset[int]  # every entry inside the window: a renewal consumes them all
    hours_logged: Decimal

    @property
    def missing(self) -> Decimal:
        """Units still needed in total (category minimums included)."""
        return max(self.required - self.counted, sum(self.missing_by_category.values(), ZERO))

    @property
    def complete(self) -> bool:
        return self.missing == 0


def _day_order(rules: CountingRules):
    """Order in which a capped day's room is handed out.

    Categories with no maximum go first: every unit they get counts, while room given to a
    category past its maximum is wasted, so this order counts the most units (and voiding an
    entry can never raise the total). Then larger entries first; the rest of the key only
    separates entries that differ, so the order they were logged in never changes the result.
    """

    def key(entry: EntryFacts) -> tuple:
        return (
            entry.category_id in rules.category_max,
            -entry.hours,
            entry.category_id,
            entry.title,
            entry.entry_id,
        )

    return key


def count_units(entries: list[EntryFacts], rules: CountingRules) -> UnitBalance:
    """Units that count: inside the window, at most `daily_cap` a day, at most `category_max`
    per category; and what is missing against the total and each category minimum."""
    in_window = [e for e in entries if rules.window_start <= e.activity_date <= rules.window_end]

    by_day: dict[datetime.date, list[EntryFacts]] = defaultdict(list)
    for entry in in_window:
        by_day[entry.activity_date].append(entry)

    raw_by_category: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for day_entries in by_day.values():
        room = rules.daily_cap
        for entry in sorted(day_entries, key=_day_order(rules)):
            units = entry.hours if room is None else min(entry.hours, room)
            if room is not None:
                room -= units
            raw_by_category[entry.category_id] += units

    by_category = {}
    for category_id, units in raw_by_category.items():
        cap = rules.category_max.get(category_id)
        by_category[category_id] = units if cap is None else min(units, cap)
    missing_by_category = {
        category_id: minimum - by_category.get(category_id, ZERO)
        for category_id, minimum in rules.category_min.items()
        if by_category.get(category_id, ZERO) < minimum
    }
    return UnitBalance(
        counted=sum(by_category.values(), ZERO),
        required=rules.units_required,
        by_category=by_category,
        missing_by_category=missing_by_category,
        entry_ids=frozenset(e.entry_id for e in in_window),
        hours_logged=sum((e.hours for e in in_window), ZERO),
    )
