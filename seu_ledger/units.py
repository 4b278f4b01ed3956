"""Counting units toward a renewal, as a pure function over plain values.

Kept free of the database so the rules can be tested exhaustively (hypothesis) and so a page can
count thousands of entries from one query. Every unit of every entry given is accounted for:
it counts, or it carries a reason why not.
"""

import datetime
import enum
from collections import defaultdict
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cspo_tracker import formats

ZERO = Decimal(0)


class Reason(enum.StrEnum):
    """Why a unit does not count toward a renewal."""

    DAILY_CAP = "daily_cap"
    CATEGORY_MAX = "category_max"
    OUTSIDE_WINDOW = "outside_window"
    AFTER_END = "after_end"
    CONSUMED = "consumed"
    EARNING_COURSE = "earning_course"
    VOIDED = "voided"
    NOT_RECOGNISED = "not_recognised"


# Each reason follows a number of units ("8 over the daily cap of 8 SEU a day").
REASON_TEXT = {
    # Translators: {detail} is the cap, e.g. "8 SEU a day".
    Reason.DAILY_CAP: _("over the daily cap of {detail}"),
    # Translators: {detail} is a category and its maximum, e.g. "Giving Back (12)".
    Reason.CATEGORY_MAX: _("over the maximum for {detail}"),
    # Translators: {detail} is a date.
    Reason.OUTSIDE_WINDOW: _("dated before the renewal window, which starts on {detail}"),
    # Translators: {detail} is a date.
    Reason.AFTER_END: _("dated after the term ended on {detail}"),
    # Translators: {detail} names a renewal, e.g. "renewal of CSPO term 1 on 14 May 2026".
    Reason.CONSUMED: _("already used by the {detail}"),
    Reason.EARNING_COURSE: _(
        # Translators: {detail} is a credential's code, e.g. "CSPO".
        "from the course that earned {detail} (course hours never count "
        "toward renewing what they earned)"
    ),
    Reason.VOIDED: _("voided"),
    # Translators: {detail} is an issuer, e.g. "PMI".
    Reason.NOT_RECOGNISED: _("its category is not one {detail} recognises"),
}


class Allocation(NamedTuple):
    """Units of an entry placed in one category of the issuer being counted."""

    category_id: int
    units: Decimal


@dataclass(frozen=True)
class NotCounted:
    """Units of one entry that do not count, and why; `detail` (a date or words) completes
    the reason's sentence."""

    reason: Reason
    units: Decimal
    detail: str | datetime.date = ""

    @property
    def text(self) -> str:
        """The reason in words ("over the daily cap of 8 SEU a day")."""
        detail = self.detail
        if isinstance(detail, datetime.date):
            detail = formats.day(detail)
        return REASON_TEXT[self.reason].format(detail=detail)


class EntryFacts(NamedTuple):
    """What counting needs to know about one logged activity, for one issuer.

    `allocations` are the units open to counting (summing, with `preset`, to `hours`); `preset`
    are units already known not to count (voided, consumed, the earning course, a category the
    issuer does not recognise). `carried` marks units a previous renewal carried over: they
    count whatever their date, and never carry again.
    """

    entry_id: int
    activity_date: datetime.date
    hours: Decimal
    allocations: tuple[Allocation, ...] = ()
    preset: tuple[NotCounted, ...] = ()
    title: str = ""
    carried: bool = False


@dataclass(frozen=True)
class CountingRules:
    """The rules one renewal is judged by, as plain values.

    `parents` maps each category of the issuer to its parent (None at the top): a minimum or
    maximum on a category limits the units of its whole subtree. Units dated from
    `window_start` to `window_end` count (the window can run past `cycle_end` where units
    earned during suspension count). Units dated from `carry_over_from` to `cycle_end` beyond
    what the renewal needs carry over, up to `carry_over_max`.
    """

    window_start: datetime.date
    window_end: datetime.date
    units_required: Decimal
    daily_cap: Decimal | None = None
    category_min: dict[int, Decimal] = field(default_factory=dict)
    category_max: dict[int, Decimal] = field(default_factory=dict)
    parents: dict[int, int | None] = field(default_factory=dict)
    cycle_end: datetime.date | None = None
    carry_over_max: Decimal | None = None
    carry_over_from: datetime.date | None = None
    cap_label: str = ""  # "8 SEU a day", for the reason text
    category_names: dict[int, str] = field(default_factory=dict)

    def ancestors(self, category_id: int) -> Iterator[int]:
        """The category, its parent, and so on to the top."""
        seen = set()
        while category_id is not None and category_id not in seen:
            seen.add(category_id)
            yield category_id
            category_id = self.parents.get(category_id)

    def path(self, category_id: int) -> tuple[int, ...]:
        """`ancestors` as a tuple, worked out once per category."""
        cache = self.__dict__.setdefault("_paths", {})
        if category_id not in cache:
            cache[category_id] = tuple(self.ancestors(category_id))
        return cache[category_id]

    def depth(self, category_id: int) -> int:
        return len(self.path(category_id))

    def under_a_maximum(self, category_id: int) -> bool:
        cache = self.__dict__.setdefault("_under_max", {})
        if category_id not in cache:
            cache[category_id] = any(node in self.category_max for node in self.path(category_id))
        return cache[category_id]


@dataclass(frozen=True)
class EntryCount:
    """How one entry counts toward one renewal: `counted` + the units of `not_counted` make
    its hours. `carried_over` is the part of `counted` that moves to the next cycle."""

    entry_id: int
    hours: Decimal
    counted: Decimal
    counted_by_category: dict[int, Decimal]
    not_counted: tuple[NotCounted, ...]
    carried_over: dict[int, Decimal]

    @property
    def carried_total(self) -> Decimal:
        return sum(self.carried_over.values(), ZERO)


@dataclass(frozen=True)
class UnitBalance:
    counted: Decimal  # units that count (those carrying over included)
    required: Decimal
    by_category: dict[int, Decimal]  # units counted in each category's whole subtree
    missing_by_category: dict[int, Decimal]  # minimums not met: category -> units short
    entry_ids: frozenset[int]  # every entry a renewal would consume
    hours_logged: Decimal  # hours of the entries inside the window
    entries: dict[int, EntryCount] = field(default_factory=dict)  # when asked to explain
    missing_total: Decimal = ZERO
    carried: dict[int, dict[int, Decimal]] = field(default_factory=dict)  # entry -> category

    @property
    def missing(self) -> Decimal:
        """Units still needed in total (nested category minimums included, never twice)."""
        return self.missing_total

    @property
    def complete(self) -> bool:
        return self.missing == 0

    @property
    def carried_over(self) -> Decimal:
        """Units that would carry over to the next cycle if the renewal happened now."""
        return sum((sum(units.values(), ZERO) for units in self.carried.values()), ZERO)


class _Piece:
    """Units of one allocation still counting, as the rules are applied in turn."""

    __slots__ = ("entry", "category_id", "units")

    def __init__(self, entry: EntryFacts, category_id: int, units: Decimal):
        self.entry, self.category_id, self.units = entry, category_id, units

    def chronological_key(self) -> tuple:
        # Earliest units are kept under a maximum; the rest of the key only separates
        # allocations that differ, so the order entries were logged in never matters.
        e = self.entry
        return (e.activity_date, -self.units, self.category_id, e.title, e.entry_id)


def _day_key(rules: CountingRules):
    """Order in which a capped day's room is handed out.

    Allocations to categories under no maximum go first: every unit they get counts, while room
    given to a category past its maximum is wasted, so this order counts the most units (and
    voiding an entry can never raise the total). Then larger allocations first; the rest of the
    key only separates allocations that differ.
    """

    def key(item: tuple[EntryFacts, Allocation]) -> tuple:
        entry, allocation = item
        return (
            rules.under_a_maximum(allocation.category_id),
            -allocation.units,
            allocation.category_id,
            entry.title,
            entry.entry_id,
        )

    return key


def count_units(
    entries: list[EntryFacts],
    rules: CountingRules,
    *,
    explain: bool = True,
    explain_ids: Collection[int] | None = None,
) -> UnitBalance:
    """Units that count toward one renewal, what is missing, what carries over, and for every
    entry why each of its units counts or not.

    In order: units preset as not counting (voided, consumed, earning course, unrecognised)
    stay so; units dated outside the window do not count; at most `daily_cap` a calendar day
    count (Scrum Alliance: 8 SEU); each category's subtree counts at most its maximum, deepest
    category first, keeping the earliest units (PMI: Giving Back at most 12, of which working as
    a practitioner at most 4). Minimums are then compared with each subtree (PMI: Education at
    least 18, each skill area at least 4). Units earned in the cycle's last year beyond what the
    renewal needs carry over, up to the cap, latest first and never below any minimum (PMI).
    Units are Decimal (SEU, PDU or hours); dates are calendar dates. With `explain` off the
    per-entry outcomes are left out (the totals, what is missing and what carries over stay);
    with `explain_ids`, only those entries' outcomes are given (the rows a page shows: every
    entry is still counted, so each outcome is the same as in the full explanation).
    """
    not_counted: dict[int, list[NotCounted]] = defaultdict(list)
    pieces: list[_Piece] = []
    in_window: list[EntryFacts] = []
    by_day: dict[datetime.date, list[tuple[EntryFacts, Allocation]]] = defaultdict(list)
    for entry in entries:
        if entry.preset:
            not_counted[entry.entry_id].extend(entry.preset)
        allocations = entry.allocations
        if not allocations:
            continue
        open_units = (
            allocations[0].units if len(allocations) == 1 else sum(a.units for a in allocations)
        )
        if not open_units:
            continue
        if not entry.carried:
            if entry.activity_date < rules.window_start:
                not_counted[entry.entry_id].append(
                    NotCounted(Reason.OUTSIDE_WINDOW, open_units, rules.window_start)
                )
                continue
            if entry.activity_date > rules.window_end:
                end = rules.cycle_end or rules.window_end
                not_counted[entry.entry_id].append(NotCounted(Reason.AFTER_END, open_units, end))
                continue
        in_window.append(entry)
        for allocation in entry.allocations:
            if allocation.units <= 0:
                continue
            if entry.carried or rules.daily_cap is None:
                pieces.append(_Piece(entry, allocation.category_id, allocation.units))
            else:
                by_day[entry.activity_date].append((entry, allocation))

    day_key = _day_key(rules)
    for day_items in by_day.values():
        room = rules.daily_cap
        if len(day_items) == 1 and day_items[0][1].units <= room:
            pieces.append(_Piece(day_items[0][0], *day_items[0][1]))
            continue
        for entry, allocation in sorted(day_items, key=day_key):
            take = min(allocation.units, room)
            room -= take
            if take:
                pieces.append(_Piece(entry, allocation.category_id, take))
            if allocation.units > take:
                not_counted[entry.entry_id].append(
                    NotCounted(Reason.DAILY_CAP, allocation.units - take, rules.cap_label)
                )

    for category_id in sorted(rules.category_max, key=lambda c: (-rules.depth(c), c)):
        maximum = rules.category_max[category_id]
        inside = [p for p in pieces if p.units and category_id in rules.path(p.category_id)]
        over = sum((p.units for p in inside), ZERO) - maximum
        if over <= 0:
            continue
        name = rules.category_names.get(category_id)
        if name is None:
            name = gettext("the category")
        detail = f"{name} ({maximum.normalize():f})"
        for piece in sorted(inside, key=_Piece.chronological_key, reverse=True):
            if over <= 0:
                break
            cut = min(piece.units, over)
            piece.units -= cut
            over -= cut
            not_counted[piece.entry.entry_id].append(NotCounted(Reason.CATEGORY_MAX, cut, detail))

    by_category: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for piece in pieces:
        for node in rules.path(piece.category_id):
            by_category[node] += piece.units
    counted = sum((p.units for p in pieces), ZERO)
    missing_by_category = {
        category_id: minimum - by_category.get(category_id, ZERO)
        for category_id, minimum in rules.category_min.items()
        if by_category.get(category_id, ZERO) < minimum
    }
    missing_total = max(rules.units_required - counted, _minimums_short(rules, by_category), ZERO)
    carried = _carry_over(pieces, rules, counted, by_category) if not missing_total else {}
    results = _explain(entries, pieces, not_counted, carried, explain_ids) if explain else {}
    return UnitBalance(
        counted=counted,
        required=rules.units_required,
        by_category=dict(by_category),
        missing_by_category=missing_by_category,
        entry_ids=frozenset(e.entry_id for e in in_window),
        hours_logged=sum((e.hours for e in in_window if not e.carried), ZERO),
        entries=results,
        missing_total=missing_total,
        carried=carried,
    )


def _explain(entries, pieces, not_counted, carried, only=None) -> dict[int, EntryCount]:
    """Each entry's outcome (or only those of the entry ids in `only`): its counted units by
    category, and the reasons for the rest."""
    if only is not None:
        only = set(only)
        entries = [entry for entry in entries if entry.entry_id in only]
        pieces = [piece for piece in pieces if piece.entry.entry_id in only]
    counted_of: dict[int, dict[int, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for piece in pieces:
        if piece.units:
            counted_of[piece.entry.entry_id][piece.category_id] += piece.units
    results = {}
    for entry in entries:
        counted_by_category = counted_of.get(entry.entry_id, {})
        results[entry.entry_id] = EntryCount(
            entry_id=entry.entry_id,
            hours=entry.hours,
            counted=sum(counted_by_category.values(), ZERO),
            counted_by_category=dict(counted_by_category),
            not_counted=tuple(not_counted.get(entry.entry_id, ())),
            carried_over=carried.get(entry.entry_id, {}),
        )
    return results


def _minimums_short(rules: CountingRules, by_category: dict[int, Decimal]) -> Decimal:
    """Units still needed to meet every minimum, where a child's units also count for its
    parent: a node needs the larger of its own shortfall and what its children need."""
    children: dict[int | None, list[int]] = defaultdict(list)
    for category_id in rules.category_min:
        # The nearest ancestor that has a minimum of its own, or the top.
        parent = next(
            (a for a in list(rules.ancestors(category_id))[1:] if a in rules.category_min), None
        )
        children[parent].append(category_id)

    def needed(category_id: int) -> Decimal:
        own = rules.category_min[category_id] - by_category.get(category_id, ZERO)
        below = sum((needed(child) for child in children.get(category_id, [])), ZERO)
        return max(own, below, ZERO)

    return sum((needed(top) for top in children.get(None, [])), ZERO)


def _carry_over(
    pieces: list[_Piece],
    rules: CountingRules,
    counted: Decimal,
    by_category: dict[int, Decimal],
) -> dict[int, dict[int, Decimal]]:
    """Units beyond what the renewal needs, earned in the cycle's last year, that move to the
    next cycle: latest first, up to the cap, never taking a minimum below what it needs."""
    if not rules.carry_over_max or rules.carry_over_from is None:
        return {}
    cycle_end = rules.cycle_end or rules.window_end
    room = min(rules.carry_over_max, counted - rules.units_required)
    spare = {
        category_id: by_category.get(category_id, ZERO) - minimum
        for category_id, minimum in rules.category_min.items()
    }
    candidates = sorted(
        (
            p
            for p in pieces
            if p.units
            and not p.entry.carried
            and rules.carry_over_from <= p.entry.activity_date <= cycle_end
        ),
        key=_Piece.chronological_key,
        reverse=True,
    )
    carried: dict[int, dict[int, Decimal]] = {}
    for piece in candidates:
        limits = [spare[node] for node in rules.path(piece.category_id) if node in spare]
        units = min([piece.units, room, *limits])
        if units <= 0:
            continue
        room -= units
        for node in rules.path(piece.category_id):
            if node in spare:
                spare[node] -= units
        by_entry = carried.setdefault(piece.entry.entry_id, {})
        by_entry[piece.category_id] = by_entry.get(piece.category_id, ZERO) + units
        if room <= 0:
            break
    return carried


def version_in_force(versions, *, starts_on, ends_on, on):
    """The rule version that judges a term (objects with `effective_from` and
    `applies_to_running_terms`), or None when there is none.

    The version in force on the term's start date; or a later one marked as applying to
    running terms, once its date has come (`on`), if the term still runs on that date (ends on
    or after it). The latest such date wins. Versions of one program have distinct dates, so
    the order they were created in never matters. Before the first version, the first applies.
    """
    eligible = [
        v
        for v in versions
        if v.effective_from <= starts_on
        or (
            v.applies_to_running_terms
            and v.effective_from <= on
            and (ends_on is None or v.effective_from <= ends_on)
        )
    ]
    if eligible:
        return max(eligible, key=lambda v: v.effective_from)
    return min(versions, key=lambda v: v.effective_from, default=None)
