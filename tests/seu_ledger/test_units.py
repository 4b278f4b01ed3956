"""Properties of unit counting that hold for every ledger (hypothesis)."""

import datetime
import random
from dataclasses import dataclass, replace
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from credentials.dates import add_months
from seu_ledger.units import (
    Allocation,
    CountingRules,
    EntryFacts,
    NotCounted,
    Reason,
    count_units,
    version_in_force,
)

START = datetime.date(2024, 1, 1)
ZERO = Decimal(0)
quarters = st.integers(min_value=1, max_value=48).map(lambda q: Decimal(q) / 4)
# A PMI-like tree: 1 Education > 11, 12, 13 skill areas; 2 Giving Back > 21 practitioner, 22.
PARENTS = {1: None, 11: 1, 12: 1, 13: 1, 2: None, 21: 2, 22: 2, 3: None}
LEAVES = [11, 12, 13, 21, 22, 3]
LIMITS = [
    ({}, {}),
    ({1: Decimal(18)}, {2: Decimal(12)}),
    ({1: Decimal(18), 11: Decimal(4), 12: Decimal(4), 13: Decimal(4)}, {2: Decimal(12)}),
    ({1: Decimal(9), 11: Decimal(2)}, {2: Decimal(6), 21: Decimal(2)}),
]


@st.composite
def allocations(draw, hours: Decimal):
    """All the hours in one category, or split in two."""
    first = draw(st.sampled_from(LEAVES))
    if hours < Decimal("0.5") or not draw(st.booleans()):
        return (Allocation(first, hours),)
    second = draw(st.sampled_from([leaf for leaf in LEAVES if leaf != first]))
    split = Decimal(draw(st.integers(1, int(hours * 4) - 1))) / 4
    return (Allocation(first, split), Allocation(second, hours - split))


@st.composite
def ledgers(draw):
    count = draw(st.integers(min_value=0, max_value=25))
    entries = []
    for index in range(count):
        hours = draw(quarters)
        preset = ()
        placed = draw(allocations(hours))
        if draw(st.integers(0, 9)) == 0:  # now and then, an entry that cannot count at all
            preset, placed = (NotCounted(Reason.VOIDED, hours),), ()
        entries.append(
            EntryFacts(
                entry_id=index + 1,
                activity_date=START + datetime.timedelta(days=draw(st.integers(0, 400))),
                hours=hours,
                allocations=placed,
                preset=preset,
                title=draw(st.sampled_from(["Course", "Meetup", "Talk"])),
            )
        )
    category_min, category_max = draw(st.sampled_from(LIMITS))
    window_end = START + datetime.timedelta(days=draw(st.integers(300, 400)))
    carry = draw(st.sampled_from([None, Decimal(10), Decimal(20)]))
    rules = CountingRules(
        window_start=START + datetime.timedelta(days=draw(st.integers(0, 30))),
        window_end=window_end,
        units_required=Decimal(draw(st.integers(0, 60))),
        daily_cap=draw(st.sampled_from([None, Decimal(8)])),
        category_min=category_min,
        category_max=category_max,
        parents=PARENTS,
        cycle_end=window_end,
        carry_over_max=carry,
        carry_over_from=add_months(window_end, -12) + datetime.timedelta(days=1),
    )
    return entries, rules


def relogged(entries, first_id=100):
    """The same activities logged again, so under other ids."""
    return [entry._replace(entry_id=first_id + i) for i, entry in enumerate(entries)]


@given(ledger=ledgers(), seed=st.integers())
def test_the_order_entries_were_logged_in_never_changes_the_balance(ledger, seed):
    entries, rules = ledger
    shuffled = entries[:]
    random.Random(seed).shuffle(shuffled)
    first, second = count_units(entries, rules), count_units(relogged(shuffled), rules)
    assert (first.counted, first.by_category, first.missing, first.carried_over) == (
        second.counted,
        second.by_category,
        second.missing,
        second.carried_over,
    )


@given(ledger=ledgers(), pick=st.integers(min_value=0))
def test_voiding_then_relogging_an_entry_restores_the_balance(ledger, pick):
    entries, rules = ledger
    if not entries:
        return
    index = pick % len(entries)
    voided = entries[:index] + entries[index + 1 :]
    again = [*voided, entries[index]._replace(entry_id=999)]
    before = count_units(entries, rules)
    without = count_units(voided, rules)
    after = count_units(again, rules)
    assert without.counted <= before.counted
    assert (after.counted, after.by_category) == (before.counted, before.by_category)


@given(ledger=ledgers())
def test_the_counted_total_never_exceeds_the_allocations(ledger):
    entries, rules = ledger
    balance = count_units(entries, rules)
    allocated = sum((a.units for e in entries for a in e.allocations), ZERO)
    assert ZERO <= balance.counted <= allocated
    assert balance.hours_logged <= sum((e.hours for e in entries), ZERO)
    assert balance.missing >= 0
    assert balance.complete == (balance.missing == 0)
    for category_id, maximum in rules.category_max.items():
        assert balance.by_category.get(category_id, ZERO) <= maximum


@given(ledger=ledgers())
def test_a_reason_accounts_for_every_unit_not_counted(ledger):
    """Counted plus not counted is the entry's hours, entry by entry."""
    entries, rules = ledger
    balance = count_units(entries, rules)
    assert set(balance.entries) == {entry.entry_id for entry in entries}
    for entry in entries:
        count = balance.entries[entry.entry_id]
        explained = sum((item.units for item in count.not_counted), ZERO)
        assert count.counted + explained == entry.hours, count
        assert all(item.units > 0 and item.text for item in count.not_counted)
        assert sum(count.counted_by_category.values(), ZERO) == count.counted


@given(ledger=ledgers(), picked=st.sets(st.integers(min_value=1, max_value=30)))
def test_explaining_a_few_entries_tells_each_what_the_whole_explanation_does(ledger, picked):
    """A page of the history asks only for its rows: every entry is still counted, so each
    row's outcome, and the totals, are those of the full explanation."""
    entries, rules = ledger
    full = count_units(entries, rules)
    few = count_units(entries, rules, explain_ids=picked)
    assert set(few.entries) == picked & {entry.entry_id for entry in entries}
    for entry_id, count in few.entries.items():
        assert count == full.entries[entry_id]
    assert (few.counted, few.by_category, few.missing, few.carried, few.entry_ids) == (
        full.counted,
        full.by_category,
        full.missing,
        full.carried,
        full.entry_ids,
    )


@given(ledger=ledgers())
def test_no_day_counts_more_than_the_cap(ledger):
    entries, rules = ledger
    capped = replace(rules, daily_cap=Decimal(8), category_max={})
    for day in {e.activity_date for e in entries}:
        same_day = [e for e in entries if e.activity_date == day]
        assert count_units(same_day, capped).counted <= Decimal(8)


@given(ledger=ledgers())
def test_carry_over_stays_under_its_cap_and_never_counts_a_unit_twice(ledger):
    entries, rules = ledger
    balance = count_units(entries, rules)
    carried = balance.carried_over
    assert carried <= (rules.carry_over_max or ZERO)
    if carried:
        assert balance.complete
        # What stays with this renewal still meets the total and every minimum.
        assert balance.counted - carried >= rules.units_required
        for category_id, minimum in rules.category_min.items():
            moved = sum(
                (
                    units
                    for count in balance.entries.values()
                    for category, units in count.carried_over.items()
                    if category_id in rules.ancestors(category)
                ),
                ZERO,
            )
            assert balance.by_category.get(category_id, ZERO) - moved >= minimum
    for entry in entries:
        count = balance.entries[entry.entry_id]
        assert count.carried_total <= count.counted
        for category_id, units in count.carried_over.items():
            assert units <= count.counted_by_category[category_id]
        if count.carried_over:
            assert rules.carry_over_from <= entry.activity_date <= rules.cycle_end
    # Carried into the next cycle, those units count once there, and never carry again.
    next_facts = [
        EntryFacts(
            entry_id=entry_id,
            activity_date=next(e.activity_date for e in entries if e.entry_id == entry_id),
            hours=count.carried_total,
            allocations=tuple(Allocation(c, u) for c, u in count.carried_over.items()),
            carried=True,
        )
        for entry_id, count in balance.entries.items()
        if count.carried_over
    ]
    later = replace(
        rules,
        window_start=rules.window_end + datetime.timedelta(days=1),
        window_end=add_months(rules.window_end, 36),
        cycle_end=add_months(rules.window_end, 36),
        carry_over_from=add_months(rules.window_end, 24),
        category_max={},
    )
    next_balance = count_units(next_facts, later)
    assert next_balance.counted == carried
    assert next_balance.carried_over == ZERO


@dataclass(frozen=True)
class Version:
    effective_from: datetime.date
    applies_to_running_terms: bool


versions = st.lists(
    st.builds(
        Version,
        effective_from=st.dates(datetime.date(2015, 1, 1), datetime.date(2030, 12, 31)),
        applies_to_running_terms=st.booleans(),
    ),
    max_size=6,
    unique_by=lambda v: v.effective_from,
)


@given(
    versions=versions,
    starts_on=st.dates(datetime.date(2016, 1, 1), datetime.date(2029, 12, 31)),
    length=st.integers(365, 1100),
    on=st.dates(datetime.date(2016, 1, 1), datetime.date(2032, 12, 31)),
    seed=st.integers(),
)
def test_the_order_rule_versions_were_created_in_never_changes_the_result(
    versions, starts_on, length, on, seed
):
    ends_on = starts_on + datetime.timedelta(days=length)
    shuffled = versions[:]
    random.Random(seed).shuffle(shuffled)
    first = version_in_force(versions, starts_on=starts_on, ends_on=ends_on, on=on)
    second = version_in_force(shuffled, starts_on=starts_on, ends_on=ends_on, on=on)
    assert first == second
    if versions:
        assert first is not None
        in_force_at_start = [v for v in versions if v.effective_from <= starts_on]
        if in_force_at_start and not any(v.applies_to_running_terms for v in versions):
            assert first == max(in_force_at_start, key=lambda v: v.effective_from)


@dataclass
class FakeIssuer:
    name: str


@dataclass
class FakeCategory:
    pk: int
    issuer_id: int
    name: str

    @property
    def issuer(self):
        return FakeIssuer(f"Issuer {self.issuer_id}")


CATEGORIES = [FakeCategory(pk, pk // 10, f"Category {pk}") for pk in (11, 12, 13, 21, 22)]


@settings(max_examples=200)
@given(
    hours=quarters,
    placed=st.lists(
        st.tuples(st.sampled_from(CATEGORIES), st.integers(-4, 60).map(lambda q: Decimal(q) / 4)),
        max_size=5,
    ),
)
def test_allocations_kept_always_add_up_to_the_hours(hours, placed):
    from seu_ledger.services import allocations_check

    try:
        by_issuer = allocations_check(placed, hours)
    except ValidationError as refused:
        refusal = refused.message_dict
    else:
        refusal = None
    if refusal is not None:
        assert "allocations" in refusal
        return
    for allocated in by_issuer.values():
        assert sum((units for _, units in allocated), ZERO) == hours
        assert all(units > 0 and units % Decimal("0.25") == 0 for _, units in allocated)
        assert len({category.pk for category, _ in allocated}) == len(allocated)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (datetime.date(2026, 3, 15), datetime.date(2025, 3, 16)),
        (datetime.date(2028, 2, 29), datetime.date(2027, 3, 1)),
        (datetime.date(2026, 12, 31), datetime.date(2026, 1, 1)),
    ],
)
def test_the_last_year_of_a_cycle_starts_the_day_after_its_date_a_year_earlier(day, expected):
    assert add_months(day, -12) + datetime.timedelta(days=1) == expected
