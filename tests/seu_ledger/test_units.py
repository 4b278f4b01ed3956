"""Properties of unit counting that hold for every ledger (hypothesis)."""

import datetime
import random
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from seu_ledger.units import CountingRules, EntryFacts, count_units

START = datetime.date(2024, 1, 1)
quarters = st.integers(min_value=1, max_value=48).map(lambda q: Decimal(q) / 4)


@st.composite
def ledgers(draw):
    count = draw(st.integers(min_value=0, max_value=30))
    entries = [
        EntryFacts(
            entry_id=index + 1,
            activity_date=START + datetime.timedelta(days=draw(st.integers(0, 20))),
            category_id=draw(st.sampled_from([1, 2, 3])),
            hours=draw(quarters),
            title=draw(st.sampled_from(["Course", "Meetup", "Talk"])),
        )
        for index in range(count)
    ]
    rules = CountingRules(
        window_start=START + datetime.timedelta(days=draw(st.integers(0, 5))),
        window_end=START + datetime.timedelta(days=draw(st.integers(10, 20))),
        units_required=Decimal(draw(st.integers(0, 60))),
        daily_cap=draw(st.sampled_from([None, Decimal(8)])),
        category_min=draw(st.sampled_from([{}, {1: Decimal(18)}])),
        category_max=draw(st.sampled_from([{}, {2: Decimal(12)}])),
    )
    return entries, rules


@given(ledger=ledgers(), seed=st.integers())
def test_the_order_entries_were_logged_in_never_changes_the_balance(ledger, seed):
    entries, rules = ledger
    shuffled = entries[:]
    random.Random(seed).shuffle(shuffled)
    # Logged in another order, the same activities get other ids.
    relogged = [
        EntryFacts(100 + i, e.activity_date, e.category_id, e.hours, e.title)
        for i, e in enumerate(shuffled)
    ]
    first, second = count_units(entries, rules), count_units(relogged, rules)
    assert (first.counted, first.by_category, first.missing) == (
        second.counted,
        second.by_category,
        second.missing,
    )


@given(ledger=ledgers(), pick=st.integers(min_value=0))
def test_voiding_then_relogging_an_entry_restores_the_balance(ledger, pick):
    entries, rules = ledger
    if not entries:
        return
    index = pick % len(entries)
    voided = entries[:index] + entries[index + 1 :]
    original = entries[index]
    relogged = [
        *voided,
        EntryFacts(
            999, original.activity_date, original.category_id, original.hours, original.title
        ),
    ]
    before = count_units(entries, rules)
    without = count_units(voided, rules)
    after = count_units(relogged, rules)
    assert without.counted <= before.counted
    assert (after.counted, after.by_category) == (before.counted, before.by_category)


@given(ledger=ledgers())
def test_the_balance_never_exceeds_the_hours_logged(ledger):
    entries, rules = ledger
    balance = count_units(entries, rules)
    assert Decimal(0) <= balance.counted <= balance.hours_logged
    assert balance.hours_logged <= sum((e.hours for e in entries), Decimal(0))
    assert balance.missing >= 0
    assert balance.complete == (balance.missing == 0)


@given(ledger=ledgers())
def test_no_day_counts_more_than_the_cap(ledger):
    entries, rules = ledger
    capped = CountingRules(rules.window_start, rules.window_end, rules.units_required, Decimal(8))
    for day in {e.activity_date for e in entries}:
        same_day = [e for e in entries if e.activity_date == day]
        assert count_units(same_day, capped).counted <= Decimal(8)
