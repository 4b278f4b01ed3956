"""Reads about the ledger: what counts toward a renewal, what is missing, the fee."""

import datetime
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from django.db.models import Exists, Q, QuerySet
from django.utils import timezone
from django.utils.text import get_text_list
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from credentials.dates import add_months
from credentials.models import Credential, Program, Term
from credentials.selectors import (
    RenewalGroup,
    Status,
    credential_current_term,
    credential_status,
    grace_ends_on,
    issuer_today,
    renewal_groups_of,
    status_label,
    today,
    track_tops,
)
from cspo_tracker import formats

from .ledger_rows import (
    carried_rows,
    credentials_with_terms,
    entry_rows,
    fees_with_use,
    memberships,
    used_rows,
)
from .models import (
    Category,
    CategoryMapping,
    Entry,
    Fee,
    Renewal,
    RuleVersion,
)
from .page_versions import rules_revision
from .units import Allocation as Allocation_
from .units import (
    CountingRules,
    EntryCount,
    EntryFacts,
    NotCounted,
    Reason,
    UnitBalance,
    count_units,
    version_in_force,
)


def entries_of(holder_id: int, *, include_voided: bool = True) -> QuerySet[Entry]:
    """A holder's ledger, newest first."""
    entries = Entry.objects.filter(holder_id=holder_id).select_related("category__issuer")
    return entries if include_voided else entries.filter(voided_at__isnull=True)


class EntryRow(NamedTuple):
    """One logged activity as counting sees it."""

    pk: int
    activity_date: datetime.date
    category_id: int
    hours: Decimal
    title: str
    course_id: int | None
    voided: bool


class CategoryRow(NamedTuple):
    pk: int
    issuer_id: int
    parent_id: int | None
    name: str


@dataclass
class HolderLedger:
    """Everything renewal arithmetic needs about one holder, loaded in a fixed number of queries
    however many entries they have; the rules then run in Python on these values."""

    holder_id: int
    credentials: list[Credential]
    groups: list[RenewalGroup]
    entries: list[EntryRow]  # voided ones included: counting says why they do not count
    allocations: dict[int, list[tuple[int, Decimal]]]  # entry id -> [(category id, hours)]
    consumed: dict[int, dict[int, str]]  # entry id -> {credential id: which renewal used it}
    carried: dict[int, dict[int, list[tuple[int, Decimal]]]]  # term id -> entry -> units
    targets: dict[int, dict[int, int]]  # issuer id -> {category id: category it counts under}
    versions: dict[int, list[RuleVersion]]  # program id -> rule versions, limits loaded
    categories: dict[int, CategoryRow]
    fees: list[Fee]
    used_fee_ids: set[int]

    @property
    def category_names(self) -> dict[int, str]:
        return {pk: row.name for pk, row in self.categories.items()}

    def group_of(self, credential_id: int) -> RenewalGroup:
        for group in self.groups:
            if any(member.pk == credential_id for member in group.credentials):
                return group
        raise Credential.DoesNotExist(f"credential {credential_id} is not this holder's")


def holder_ledger(holder_id: int, revision: int | None = None) -> HolderLedger:
    """Load a holder's credentials, entries, allocations, consumption, categories, rules and
    fees. `revision`: the rules revision already read with the signed-in user, if any."""
    return holder_ledgers([holder_id], revision)[holder_id]


@dataclass(frozen=True)
class RenewalRules:
    """Every program (issuer loaded) and its rule versions (limits loaded), every category and
    where each counts for each issuer: the rules as data, the same for every holder. Shared
    between requests, so read only."""

    versions: dict[int, list[RuleVersion]]  # program id -> rule versions, oldest first
    categories: dict[int, CategoryRow]
    targets: dict[int, dict[int, int]]  # issuer id -> {category id: category it counts under}
    category_objects: dict[int, Category]  # issuer and parent loaded, by issuer and name
    programs: dict[int, Program]  # issuer loaded

    def leaves_of(self, issuer_id: int) -> list[Category]:
        """The issuer's categories with nothing inside them, by parent's name then name."""
        parents = {row.parent_id for row in self.categories.values()}
        leaves = [
            c
            for c in self.category_objects.values()
            if c.issuer_id == issuer_id and c.pk not in parents
        ]
        # As the database orders by parent name: categories without a parent last.
        return sorted(
            leaves, key=lambda c: (c.parent is None, c.parent.name if c.parent else "", c.name)
        )


_RULES: dict[int, RenewalRules] = {}


def renewal_rules_forget() -> None:
    """Drop this process's copy of the rules (the next `renewal_rules` reads them again)."""
    _RULES.clear()


def renewal_rules(revision: int | None = None) -> RenewalRules:
    """The renewal rules, loaded once per process per `RulesRevision` (which the database
    moves on any change to them, see `page_versions`): four queries when they changed, none
    when `revision` is given and they did not, one to read the revision otherwise (five to
    load them: programs, rule versions, limits, categories, mappings). A load is
    kept only when the revision read after it is the one read before (no change committed
    meanwhile), so a kept copy is never a mix of two revisions."""
    before = revision if revision is not None else rules_revision()
    kept = _RULES.get(before) if before is not None else None
    if kept is not None:
        return kept
    versions: dict[int, list[RuleVersion]] = {}
    for version in RuleVersion.objects.order_by("program_id", "effective_from").prefetch_related(
        "limits"
    ):
        versions.setdefault(version.program_id, []).append(version)
    category_objects = {c.pk: c for c in Category.objects.select_related("issuer", "parent")}
    categories = {
        pk: CategoryRow(pk, c.issuer_id, c.parent_id, c.name) for pk, c in category_objects.items()
    }
    mappings: dict[int, dict[int, int]] = defaultdict(dict)
    for source_id, target_id, issuer_id in CategoryMapping.objects.order_by("pk").values_list(
        "source_id", "target_id", "target__issuer_id"
    ):
        mappings[source_id].setdefault(issuer_id, target_id)
    programs = {p.pk: p for p in Program.objects.select_related("issuer")}
    rules = RenewalRules(
        versions, categories, _targets(categories, mappings), category_objects, programs
    )
    if before is not None and rules_revision() == before:
        _RULES.clear()  # one revision is current; older ones are never asked for again
        _RULES[before] = rules
    return rules


def _targets(categories: dict[int, CategoryRow], mappings: dict[int, dict[int, int]]):
    """issuer id -> {category id: the category it counts under for that issuer}: itself for
    the issuer's own categories; otherwise its mapping to that issuer, or its nearest parent's."""
    targets: dict[int, dict[int, int]] = defaultdict(dict)
    for pk, row in categories.items():
        targets[row.issuer_id][pk] = pk
        seen, node = set(), pk
        while node is not None and node not in seen:
            seen.add(node)
            for issuer_id, target in mappings.get(node, {}).items():
                targets[issuer_id].setdefault(pk, target)
            node = categories[node].parent_id if node in categories else None
    return targets


def _ledger_credentials(holder_ids: list[int], rules: RenewalRules) -> list[Credential]:
    """The holders' credentials as `holders_credentials` gives them (holder, program and issuer
    loaded, terms in sequence, ordered by issuer name, level down, code), with the program and
    issuer taken from the shared rules rather than joined: one query
    (`ledger_rows.credentials_with_terms`), where the ORM's two cost more to build than to run
    and the join of five tables more to plan."""
    credentials = credentials_with_terms(holder_ids)
    for credential in credentials:
        credential.program = rules.programs[credential.program_id]
    credentials.sort(key=lambda c: (c.program.issuer.name, -c.program.level, c.program.code, c.pk))
    return credentials


def holder_ledgers(holder_ids: list[int], revision: int | None = None) -> dict[int, HolderLedger]:
    """`holder_ledger` for many holders at once, in the same fixed number of queries (callers
    pass chunks of a few thousand); the rules come from `renewal_rules(revision)`."""
    holder_ids = list(holder_ids)
    rules = renewal_rules(revision)
    credentials_of: dict[int, list[Credential]] = {pk: [] for pk in holder_ids}
    for credential in _ledger_credentials(holder_ids, rules):
        credentials_of[credential.holder_id].append(credential)
    memberships_of: dict[int, list] = {pk: [] for pk in holder_ids}
    for membership in memberships(holder_ids):
        memberships_of[membership.holder_id].append(membership)
    entries_of_holder: dict[int, list[EntryRow]] = {pk: [] for pk in holder_ids}
    allocations_of: dict[int, dict[int, list]] = {pk: {} for pk in holder_ids}
    for holder_id, *row, allocations in entry_rows(holder_ids):
        entries_of_holder[holder_id].append(EntryRow(*row))
        if allocations:
            allocations_of[holder_id][row[0]] = allocations
    consumed_of: dict[int, dict[int, dict[int, str]]] = {pk: {} for pk in holder_ids}
    carried_of: dict[int, dict[int, dict[int, list]]] = {pk: {} for pk in holder_ids}
    # What renewals used and carried over only bears on the renewed credentials' groups: with
    # no term past the first, there is nothing to read.
    renewed = [
        holder_id
        for holder_id, credentials in credentials_of.items()
        if any(term.sequence > 1 for c in credentials for term in c.terms.all())
    ]
    details: dict[tuple, str] = {}  # one wording per renewal, however many entries it used
    for holder_id, entry_id, credential_id, code, sequence, renewed_on in used_rows(renewed):
        renewal = (code, sequence, renewed_on)
        if renewal not in details:
            details[renewal] = gettext("renewal of {code} term {sequence} on {day}").format(
                code=code, sequence=sequence, day=formats.day(renewed_on)
            )
        consumed_of[holder_id].setdefault(entry_id, {})[credential_id] = details[renewal]
    for holder_id, term_id, entry_id, category_id, units in carried_rows(renewed):
        into_term = carried_of[holder_id].setdefault(term_id, {})
        into_term.setdefault(entry_id, []).append((category_id, units))
    fees_of: dict[int, list[Fee]] = {pk: [] for pk in holder_ids}
    fees_used = set()
    for fee in fees_with_use(holder_ids):
        fees_of[fee.holder_id].append(fee)
        if fee.used:
            fees_used.add(fee.pk)
    ledgers = {}
    for holder_id in holder_ids:
        credentials = credentials_of[holder_id]
        ledgers[holder_id] = HolderLedger(
            holder_id=holder_id,
            credentials=credentials,
            groups=renewal_groups_of(credentials, memberships_of[holder_id]),
            entries=entries_of_holder[holder_id],
            allocations=allocations_of[holder_id],
            consumed=consumed_of[holder_id],
            carried=carried_of[holder_id],
            targets=rules.targets,
            versions=rules.versions,
            categories=rules.categories,
            fees=fees_of[holder_id],
            used_fee_ids=fees_used,
        )
    return ledgers


def term_versions(group: RenewalGroup, ledger: HolderLedger, on: datetime.date):
    """{credential id: the rule version its current term is judged by, or None}."""
    judged = {}
    for credential in group.credentials:
        term = credential_current_term(credential)
        judged[credential.pk] = version_in_force(
            ledger.versions.get(credential.program_id, []),
            starts_on=term.starts_on,
            ends_on=term.ends_on,
            on=on,
        )
    return judged


def group_units_required(group: RenewalGroup, judged: dict) -> Decimal:
    """Scrum Alliance's combined renewal: the highest level's units, plus the add-on of the top
    credential of each other track (CSM + CSPO = 20 + 10); one credential: its own units."""
    tops = track_tops(list(group.credentials))
    top = judged[tops[0].pk]
    addons = sum((judged[c.pk].combined_addon_units for c in tops[1:]), Decimal(0))
    return top.units_required + addons


def counting_rules(
    group: RenewalGroup, ledger: HolderLedger, on: datetime.date | None = None
) -> CountingRules | None:
    """The rules renewing a group is judged by on a day: each credential's rule version in
    force for its current term, combined (the strictest daily cap, the largest minimum and the
    smallest maximum per category). None for a lifetime credential, or a program with no rule
    version recorded."""
    on = on or today()
    if group.ends_on is None:
        return None
    judged = term_versions(group, ledger, on)
    if any(version is None for version in judged.values()):
        return None
    top = judged[group.top.pk]
    caps = [v.daily_unit_cap for v in judged.values() if v.daily_unit_cap is not None]
    category_min: dict[int, Decimal] = {}
    category_max: dict[int, Decimal] = {}
    for version in judged.values():
        for limit in version.limits.all():
            if limit.min_units is not None:
                category_min[limit.category_id] = max(
                    category_min.get(limit.category_id, limit.min_units), limit.min_units
                )
            if limit.max_units is not None:
                category_max[limit.category_id] = min(
                    category_max.get(limit.category_id, limit.max_units), limit.max_units
                )
    issuer_id = group.top.program.issuer_id
    window_end = group.ends_on
    if top.units_after_end_count and on > group.ends_on:
        window_end = on
    cap = min(caps) if caps else None
    return CountingRules(
        window_start=add_months(group.ends_on, -top.lookback_months),
        window_end=window_end,
        units_required=group_units_required(group, judged),
        daily_cap=cap,
        category_min=category_min,
        category_max=category_max,
        parents={
            pk: row.parent_id for pk, row in ledger.categories.items() if row.issuer_id == issuer_id
        },
        cycle_end=group.ends_on,
        carry_over_max=top.carry_over_max,
        carry_over_from=add_months(group.ends_on, -top.carry_over_months)
        + datetime.timedelta(days=1),
        cap_label=(
            # Translators: a daily cap, e.g. "8 SEU a day".
            gettext("{units} {unit} a day").format(units=fmt_units(cap), unit=group.unit_name)
            if cap is not None
            else ""
        ),
        category_names=ledger.category_names,
    )


def _allocations_for(issuer_id: int, entry: EntryRow, ledger: HolderLedger, defaults: dict):
    """How an entry's hours count for an issuer: its stored allocations to that issuer's
    categories, or else all its hours under the category it maps to; None when the issuer
    recognises neither. `defaults` caches the default allocations by (category, hours)."""
    stored = ledger.allocations.get(entry.pk)
    if stored:
        mine = tuple(
            Allocation_(category_id, hours)
            for category_id, hours in stored
            if ledger.categories[category_id].issuer_id == issuer_id
        )
        if mine:
            return mine
    key = (entry.category_id, entry.hours)
    if key not in defaults:
        target = ledger.targets.get(issuer_id, {}).get(entry.category_id)
        defaults[key] = None if target is None else (Allocation_(target, entry.hours),)
    return defaults[key]


def candidate_facts(group: RenewalGroup, ledger: HolderLedger) -> list[EntryFacts]:
    """Every entry of the holder as counting facts for renewing the group, each unit either
    open to counting or preset with why not: voided; consumed by an earlier renewal of a
    credential in the group (except units that renewal carried over into the current term);
    from the course that earned one of them; in no category the issuer recognises. (The
    window, cap and maximums are applied by `count_units`.)"""
    credential_ids = {credential.pk for credential in group.credentials}
    sole = group.credentials[0].pk if len(group.credentials) == 1 else None
    earning = {c.source_course_id: c.program.code for c in group.credentials if c.source_course_id}
    issuer = group.top.program.issuer
    carried_in = ledger.carried.get(credential_current_term(group.top).pk, {})
    consumed, defaults, facts = ledger.consumed, {}, []
    # Most of a long ledger was consumed by a few renewals: entries alike share one (frozen)
    # reason instead of each building its own.
    consumed_presets: dict[tuple, tuple[NotCounted, ...]] = {}
    for entry in ledger.entries:
        pk, day, hours, title = entry.pk, entry.activity_date, entry.hours, entry.title
        if entry.voided:
            preset = (NotCounted(Reason.VOIDED, hours),)
            facts.append(EntryFacts(pk, day, hours, (), preset, title))
            continue
        used_by = consumed.get(pk)
        if used_by and not credential_ids.isdisjoint(used_by):
            if sole is not None:
                detail = used_by[sole]
            else:
                detail = max(d for c, d in used_by.items() if c in credential_ids)
            carried_units = carried_in.get(pk)
            if carried_units:
                carried = tuple(Allocation_(c, u) for c, u in carried_units)
                rest = hours - sum((a.units for a in carried), Decimal(0))
            else:
                carried, rest = (), hours
            preset = consumed_presets.get((rest, detail))
            if preset is None:
                preset = (NotCounted(Reason.CONSUMED, rest, detail),) if rest > 0 else ()
                consumed_presets[(rest, detail)] = preset
            facts.append(EntryFacts(pk, day, hours, carried, preset, title, True))
            continue
        if entry.course_id in earning:
            preset = (NotCounted(Reason.EARNING_COURSE, hours, earning[entry.course_id]),)
            facts.append(EntryFacts(pk, day, hours, (), preset, title))
            continue
        allocations = _allocations_for(issuer.pk, entry, ledger, defaults)
        if allocations is None:
            preset = (NotCounted(Reason.NOT_RECOGNISED, hours, issuer.name),)
            facts.append(EntryFacts(pk, day, hours, (), preset, title))
            continue
        preset = ()
        if len(allocations) > 1 or allocations[0].units != hours:
            allocated = sum((a.units for a in allocations), Decimal(0))
            if allocated < hours:  # entry_log keeps allocations whole; never trusted blindly
                preset = (NotCounted(Reason.NOT_RECOGNISED, hours - allocated, issuer.name),)
        facts.append(EntryFacts(pk, day, hours, allocations, preset, title))
    return facts


def group_balance(
    group: RenewalGroup,
    ledger: HolderLedger | None = None,
    on: datetime.date | None = None,
    *,
    explain_ids: Collection[int] | None = None,
) -> UnitBalance | None:
    """Units counted toward renewing the group, what is missing, what would carry over, and
    why each unit of each entry (or of the entries in `explain_ids`) counts or not. None
    without rules (lifetime, or none recorded)."""
    ledger = ledger or holder_ledger(group.top.holder_id)
    rules = counting_rules(group, ledger, on)
    if rules is None:
        return None
    return count_units(candidate_facts(group, ledger), rules, explain_ids=explain_ids)


def fee_lookup(group: RenewalGroup) -> QuerySet[Fee]:
    """Fee rows of the group's kind (its credential, or the holder's combined issuer group)
    not yet used by a renewal, as a query (for locking)."""
    used = Renewal.objects.filter(fee__isnull=False).values("fee_id")
    fees = Fee.objects.exclude(pk__in=used)
    if group.combined:
        return fees.filter(
            holder_id=group.top.holder_id,
            issuer_id=group.top.program.issuer_id,
            credential__isnull=True,
        )
    return fees.filter(credential=group.top)


def pick_fee(group: RenewalGroup, fees: list[Fee]) -> Fee | None:
    """The fee that pays for the group's coming renewal: the one recorded for its end date, or
    one recorded for an earlier end date of the same term (before a new credential moved the
    renewal date by alignment)."""
    term_start = credential_current_term(group.top).starts_on
    matching = [
        fee
        for fee in fees
        if term_start <= fee.period_ends_on <= group.ends_on
        and (
            (
                group.combined
                and fee.credential_id is None
                and fee.issuer_id == group.top.program.issuer_id
                and fee.holder_id == group.top.holder_id
            )
            or (not group.combined and fee.credential_id == group.top.pk)
        )
    ]
    return max(matching, key=lambda fee: fee.period_ends_on, default=None)


def group_fee(group: RenewalGroup, ledger: HolderLedger) -> Fee | None:
    """The fee record for renewing the group, if anyone has recorded one."""
    if group.ends_on is None:
        return None
    return pick_fee(group, [fee for fee in ledger.fees if fee.pk not in ledger.used_fee_ids])


@dataclass(frozen=True)
class RenewalRequirements:
    """Everything a renewal of one credential's group needs, and whether it is met."""

    group: RenewalGroup
    balance: UnitBalance | None
    fee: Fee | None
    reasons: dict[str, list[str]]
    category_names: dict[int, str]
    rules: CountingRules | None = None
    versions: dict[int, RuleVersion | None] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return not self.reasons

    @property
    def fee_status(self) -> str:
        if not self.group.fee_required:
            return "not_required"
        return self.fee.status if self.fee else Fee.Status.DUE

    @property
    def version(self) -> RuleVersion | None:
        """The rule version of the group's top credential: what the renewal is judged by."""
        return self.versions.get(self.group.top.pk)

    def messages(self) -> list[str]:
        return [message for messages in self.reasons.values() for message in messages]


LIFETIME = _("{program} never expires: there is nothing to renew.")
UNVERIFIED = _(
    "Waiting for staff to verify {codes} with {issuer}: it renews once verified. You can log "
    "units meanwhile."
)
NO_RULES = _("No renewal rules are recorded for {program}; staff add them in the admin.")
# Translators: {unit} is the issuer's unit (SEU, PDU); the others are numbers of units.
UNITS_SHORT = _("{missing} more {unit} needed: {required} required, {counted} counted.")
CATEGORY_SHORT = _("{missing} more {unit} of {category} needed (at least {minimum}).")
FEE_DUE = _("The renewal fee has not been paid.")
# Translators: {amount} is a sum of money, e.g. "US$100".
FEE_DUE_AMOUNT = _("The renewal fee of {amount} has not been paid.")
FEE_SUBMITTED = _(
    "The renewal fee is recorded as paid (reference {reference}) and awaits staff confirmation."
)
LAPSED_TOO_LONG = _(
    "This credential ended on {ends_on}; a renewal now would start a term that is already over. "
    "Contact {issuer} to reinstate it."
)
LAPSE_IS_FINAL = _(
    # Translators: {period} is the issuer's word for the time after the end ("grace period",
    # "suspension").
    "This credential ended on {ends_on} and its {period} ended on {final_day}; {issuer} "
    "restores it only by a new examination."
)


def money(amount: Decimal | None, currency: str) -> str:
    """An amount in the fee row's currency, in the active language's style (formats.money)."""
    return formats.money(amount, currency)


def fmt_units(value: Decimal) -> str:
    return formats.units(value)


def renewal_requirements(
    credential: Credential, on: datetime.date | None = None
) -> RenewalRequirements:
    """What renewing this credential (with its group) needs on a day, and what is missing."""
    ledger = holder_ledger(credential.holder_id)
    return group_requirements(ledger.group_of(credential.pk), ledger, on)


REVOKED_REFUSAL = _(
    "{code} was revoked on {day}: it is no longer valid and cannot be renewed. Write to us if "
    "you think this is a mistake."
)


def _term_refusal(group: RenewalGroup, on: datetime.date) -> str | None:
    """Why the group's term cannot be renewed at all any more on a day, or None."""
    revoked = [c for c in group.credentials if c.revoked_at is not None]
    if revoked:
        return " ".join(
            REVOKED_REFUSAL.format(
                code=c.program.code, day=formats.day(timezone.localdate(c.revoked_at))
            )
            for c in revoked
        )
    program = group.top.program
    if program.lapse_is_final and on > group.ends_on + datetime.timedelta(days=program.grace_days):
        final_day = group.ends_on + datetime.timedelta(days=program.grace_days)
        return LAPSE_IS_FINAL.format(
            ends_on=formats.day(group.ends_on),
            period=program.after_end_words,
            final_day=formats.day(final_day),
            issuer=program.issuer.name,
        )
    if add_months(group.ends_on, program.validity_months) < on:
        return LAPSED_TOO_LONG.format(
            ends_on=formats.day(group.ends_on), issuer=program.issuer.name
        )
    return None


def group_requirements(
    group: RenewalGroup, ledger: HolderLedger, on: datetime.date | None = None
) -> RenewalRequirements:
    """What renewing a group needs on a day (the issuer's today by default), from a loaded
    ledger (no queries)."""
    program = group.top.program
    on = on or issuer_today(program)
    if group.ends_on is None:
        return RenewalRequirements(
            group=group,
            balance=None,
            fee=None,
            reasons={"term": [LIFETIME.format(program=program.code)]},
            category_names={},
        )
    reasons: dict[str, list[str]] = {}
    refusal = _term_refusal(group, on)
    if refusal:
        reasons["term"] = [refusal]
    unverified = [c.program.code for c in group.credentials if not c.verified]
    if unverified:
        reasons["verified"] = [
            UNVERIFIED.format(codes=", ".join(unverified), issuer=program.issuer.name)
        ]
    rules = counting_rules(group, ledger, on)
    balance = None
    if rules is None:
        reasons["units"] = [NO_RULES.format(program=group.label)]
    else:
        balance = count_units(candidate_facts(group, ledger), rules, explain=False)
        unit_messages = _unit_messages(group, rules, balance, ledger.category_names)
        if unit_messages:
            reasons["units"] = unit_messages
    fee = group_fee(group, ledger)
    if group.fee_required and not (fee and fee.is_settled):
        if fee and fee.status == Fee.Status.SUBMITTED:
            reasons["fee"] = [FEE_SUBMITTED.format(reference=fee.reference)]
        else:
            amount = money(group.fee_amount, group.currency)
            reasons["fee"] = [FEE_DUE_AMOUNT.format(amount=amount) if amount else str(FEE_DUE)]
    return RenewalRequirements(
        group=group,
        balance=balance,
        fee=fee,
        reasons=reasons,
        category_names=ledger.category_names,
        rules=rules,
        versions=term_versions(group, ledger, on),
    )


def _unit_messages(group, rules: CountingRules, balance: UnitBalance, names) -> list[str]:
    messages = []
    if balance.counted < balance.required:
        messages.append(
            UNITS_SHORT.format(
                missing=fmt_units(balance.required - balance.counted),
                unit=group.unit_name,
                required=fmt_units(balance.required),
                counted=fmt_units(balance.counted),
            )
        )
    for category_id, missing in sorted(
        balance.missing_by_category.items(), key=lambda item: names.get(item[0], "")
    ):
        messages.append(
            CATEGORY_SHORT.format(
                missing=fmt_units(missing),
                unit=group.unit_name,
                category=names.get(category_id, "?"),
                minimum=fmt_units(rules.category_min[category_id]),
            )
        )
    return messages


@dataclass(frozen=True)
class CategoryProgress:
    name: str
    counted: Decimal
    minimum: Decimal | None
    maximum: Decimal | None
    depth: int = 0

    @property
    def percent(self) -> int:
        target = self.minimum or self.maximum
        return 100 if not target else min(100, int(self.counted * 100 / target))


@dataclass(frozen=True)
class NextStep:
    """The one thing a holder should do next for a card, always true on the day.

    `kind`: "log" (log units), "log_before" (log activities dated on or before `until`: in
    Scrum Alliance's grace only units dated within the term count), "fee" (pay the issuer and
    record the receipt), "fee_waiting" (nothing to do: staff are confirming the receipt),
    "renew", "contact_issuer" (too late to renew here). `text` says it in a sentence.
    """

    kind: str
    text: str
    until: datetime.date | None = None

    @property
    def has_button(self) -> bool:
        return self.kind in ("log", "log_before", "fee", "renew")


@dataclass(frozen=True)
class CredentialCard:
    """One card of the dashboard: a credential, or a group that renews together."""

    requirements: RenewalRequirements
    status: Status
    days_left: int | None
    current_term: Term
    on: datetime.date
    earning_course_hours: Decimal = Decimal(0)

    @property
    def group(self) -> RenewalGroup:
        return self.requirements.group

    @property
    def balance(self) -> UnitBalance | None:
        return self.requirements.balance

    @property
    def status_label(self) -> str:
        """The status in the issuer's words ("Suspended" for PMI after the end)."""
        return status_label(self.group.top.program, self.status)

    @property
    def lifetime(self) -> bool:
        return self.group.ends_on is None

    @property
    def running_term(self) -> Term:
        """The term the credential is in on the day: after an early renewal the old term still
        runs until its end date, and the new one is `next_term`."""
        return term_running(self.group.top, self.on)

    @property
    def next_term(self) -> Term | None:
        """A term already renewed into that has not started yet (renewed early)."""
        latest = self.current_term
        return latest if latest.pk != self.running_term.pk else None

    @property
    def grace_ends_on(self) -> datetime.date | None:
        """Last day of the grace (or PMI suspension) after the end; None without one."""
        return grace_end(self.group)

    @property
    def in_grace(self) -> bool:
        return self.status == Status.IN_GRACE

    @property
    def grace_days_left(self) -> int | None:
        """Days from the day to the grace's last day (0 on it), while in grace."""
        if not self.in_grace or self.grace_ends_on is None:
            return None
        return (self.grace_ends_on - self.on).days

    @property
    def fee_due_by(self) -> datetime.date | None:
        """The day the fee must be paid by: the renewal date, or the grace's last day."""
        return renew_by(self.group, self.on)

    @property
    def fee_words(self) -> str:
        """The renewal fee and where it stands ("US$100, due by 14 May 2026")."""
        return fee_in_words(self.requirements, self.on)

    @property
    def percent(self) -> int:
        balance = self.balance
        if balance is None or not balance.required:
            return 100
        return min(100, int(balance.counted * 100 / balance.required))

    @property
    def categories(self) -> list[CategoryProgress]:
        """Each category with a minimum or maximum, parents before their children."""
        return category_progress(self.requirements)

    @property
    def next_action(self) -> str | None:
        """ "log", "fee", "renew" or None: the one thing to do next (see `next_step`)."""
        step = self.next_step
        if step is None or step.kind == "contact_issuer":
            return None
        return {"log_before": "log", "fee_waiting": "fee"}.get(step.kind, step.kind)

    @property
    def next_step(self) -> NextStep | None:
        return next_step(self.requirements, self.on)

    @property
    def unverified(self) -> list[Credential]:
        return [credential for credential in self.group.credentials if not credential.verified]


def term_running(credential: Credential, on: datetime.date) -> Term:
    """The term that runs on a day: the earliest whose end is not yet past (a term and its
    renewal share a date, which belongs to the ending term); the latest once all have ended."""
    terms = sorted(credential.terms.all(), key=lambda term: term.sequence)
    for term in terms:
        if term.ends_on is None or term.ends_on >= on:
            return term
    return terms[-1]


def grace_end(group: RenewalGroup) -> datetime.date | None:
    """Last day of the grace (Scrum Alliance) or suspension (PMI) after the group's end date;
    None for lifetime credentials or programs without one."""
    if not group.top.program.grace_days:
        return None
    return grace_ends_on(group.top.program, group.ends_on)


def renew_by(group: RenewalGroup, on: datetime.date) -> datetime.date | None:
    """The last day to renew without losing the credential: the end date, or once past it
    the grace's (or suspension's) last day."""
    if group.ends_on is None:
        return None
    last = grace_end(group)
    if on > group.ends_on and last is not None:
        return last
    return group.ends_on


def renewing_late(group: RenewalGroup, on: datetime.date) -> bool:
    """Past the end date and any grace: the credential has lapsed, though the issuer may still
    take a late renewal (one that keeps the anniversary)."""
    last = renew_by(group, on)
    return last is not None and on > last


def _deadline(group: RenewalGroup, on: datetime.date) -> str:
    """ "52 days left to renew (until 12 Aug 2026)." or, once lapsed, how a late renewal
    works."""
    last = renew_by(group, on)
    if on > last:
        return gettext(
            "It lapsed after {day}; renewing late keeps its anniversary, so the "
            "new term starts on the old end date."
        ).format(day=formats.day(last))
    days = (last - on).days
    return ngettext(
        "{count} day left to renew (until {day}).",
        "{count} days left to renew (until {day}).",
        days,
    ).format(count=days, day=formats.day(last))


def _units_to_log(requirements: RenewalRequirements) -> str:
    """ "Log 6 more PDU to renew, of them at least 2 in Business Acumen." """
    group, balance = requirements.group, requirements.balance
    unit = group.unit_name
    names = requirements.category_names
    short = [
        # Translators: units still needed in a category, e.g. "2 in Business Acumen".
        gettext("{units} in {category}").format(
            units=fmt_units(units), category=names.get(category_id, "?")
        )
        for category_id, units in sorted(
            balance.missing_by_category.items(), key=lambda item: names.get(item[0], "")
        )
    ]
    missing = fmt_units(balance.missing)
    if not short:
        return gettext("Log {missing} more {unit} to renew.").format(missing=missing, unit=unit)
    # Translators: {categories} lists what is still needed per category ("2 in Business
    # Acumen, 1 in Power Skills and 3 in Ways of Working").
    return gettext("Log {missing} more {unit} to renew, of them at least {categories}.").format(
        missing=missing, unit=unit, categories=get_text_list(short, gettext("and"))
    )


def next_step(requirements: RenewalRequirements, on: datetime.date) -> NextStep | None:
    """What the holder should do next about a renewal group on a day, in order: nothing for a
    lifetime credential; contact the issuer when renewing here is no longer possible; wait for
    staff while a claim is unverified or a program has no rules; log units (dated on or before
    the end while in a grace that counts none after it; naming the categories still short);
    pay and record the fee; wait for staff to confirm a receipt; renew. Past the end and any
    grace, the text says the credential has lapsed and how a late renewal works."""
    group = requirements.group
    if group.ends_on is None:
        return None
    reasons = requirements.reasons
    if "term" in reasons:
        return NextStep("contact_issuer", " ".join(reasons["term"]))
    if "verified" in reasons:
        return NextStep("wait_verified", " ".join(reasons["verified"]))
    rules = requirements.rules
    if rules is None:
        return NextStep("wait_rules", " ".join(reasons.get("units", [])))
    late = renewing_late(group, on)
    if "units" in reasons and on < rules.window_start:
        return NextStep(
            "wait_window",
            gettext(
                "Renewed until {ends_on}. Activities count toward the next "
                "renewal from {starts_on}: log what you do from then on."
            ).format(ends_on=formats.day(group.ends_on), starts_on=formats.day(rules.window_start)),
            until=rules.window_start,
        )
    if "units" in reasons:
        if on > rules.window_end:
            text = gettext(
                "Log activities dated on or before {day}: only they count toward this renewal."
            ).format(day=formats.day(rules.window_end))
            return NextStep("log_before", f"{text} {_deadline(group, on)}", until=rules.window_end)
        text = _units_to_log(requirements)
        return NextStep("log", text + (f" {_deadline(group, on)}" if late else ""))
    if "fee" in reasons:
        fee = requirements.fee
        if fee is not None and fee.status == Fee.Status.SUBMITTED:
            return NextStep(
                "fee_waiting",
                gettext(
                    "Waiting for staff to confirm your receipt {reference}: nothing to do."
                ).format(reference=fee.reference),
            )
        amount = money(group.fee_amount, group.currency)
        values = {"issuer": group.top.program.issuer.name, "amount": amount}
        if late:
            # Followed by how a late renewal works ("It lapsed after ...").
            if amount:
                text = gettext("Pay {issuer} the renewal fee of {amount} and record the receipt")
            else:
                text = gettext("Pay {issuer} the renewal fee and record the receipt")
            return NextStep("fee", f"{text.format(**values)} {_deadline(group, on)}")
        values["day"] = formats.day(renew_by(group, on))
        if amount:
            text = gettext(
                "Pay {issuer} the renewal fee of {amount} and record the receipt by {day}."
            )
        else:
            text = gettext("Pay {issuer} the renewal fee and record the receipt by {day}.")
        return NextStep("fee", text.format(**values))
    text = gettext("Units and fee are complete: you can renew.")
    return NextStep("renew", text + (f" {_deadline(group, on)}" if late else ""))


def fee_in_words(requirements: RenewalRequirements, on: datetime.date) -> str:
    """The renewal fee of a group and where it stands on a day: "none", "US$100, due by 14 May
    2026", "US$100, receipt R-1 waiting for staff to confirm", "US$100, paid", "waived"."""
    group = requirements.group
    if not group.fee_required or group.ends_on is None:
        return gettext("none")
    fee = requirements.fee
    amount = money(
        fee.amount if fee and fee.amount is not None else group.fee_amount, group.currency
    )
    amount = amount or gettext("set by staff")
    status = fee.status if fee else Fee.Status.DUE
    if status == Fee.Status.PAID:
        # Translators: {amount} is a sum of money ("US$100") or "set by staff".
        return gettext("{amount}, paid").format(amount=amount)
    if status == Fee.Status.WAIVED:
        return gettext("waived by staff")
    if status == Fee.Status.SUBMITTED:
        return gettext("{amount}, receipt {reference} waiting for staff to confirm").format(
            amount=amount, reference=fee.reference
        )
    if renewing_late(group, on) or "term" in requirements.reasons:
        return gettext("{amount}, not paid").format(amount=amount)
    return gettext("{amount}, due by {day}").format(
        amount=amount, day=formats.day(renew_by(group, on))
    )


def category_progress(requirements: RenewalRequirements) -> list[CategoryProgress]:
    """Each category with a minimum or maximum and its counted units, parents before their
    children (PMI: Education, then its skill areas)."""
    rules = requirements.rules
    balance = requirements.balance
    if balance is None or rules is None:
        return []
    limited = set(rules.category_min) | set(rules.category_max)
    names = requirements.category_names

    def key(category_id):
        path = list(rules.ancestors(category_id))[::-1]
        return [names.get(node, "") for node in path]

    return [
        CategoryProgress(
            name=names.get(category_id, "?"),
            counted=balance.by_category.get(category_id, Decimal(0)),
            minimum=rules.category_min.get(category_id),
            maximum=rules.category_max.get(category_id),
            depth=rules.depth(category_id) - 1,
        )
        for category_id in sorted(limited, key=key)
    ]


def _earning_course_hours(group: RenewalGroup, ledger: HolderLedger) -> Decimal:
    """Hours logged from the courses that earned the group's credentials (they never count
    toward renewing them)."""
    courses = {c.source_course_id for c in group.credentials if c.source_course_id}
    return sum(
        (e.hours for e in ledger.entries if e.course_id in courses and not e.voided), Decimal(0)
    )


def group_card(group: RenewalGroup, ledger: HolderLedger, on: datetime.date) -> CredentialCard:
    """The card of one renewal group on a day, from a loaded ledger (no queries)."""
    top = group.top
    return CredentialCard(
        requirements=group_requirements(group, ledger, on),
        status=credential_status(top, on),
        days_left=None if group.ends_on is None else (group.ends_on - on).days,
        current_term=credential_current_term(top),
        on=on,
        earning_course_hours=_earning_course_hours(group, ledger),
    )


def dashboard_cards(
    holder_id: int, on: datetime.date | None = None, *, revision: int | None = None
) -> list[CredentialCard]:
    """Every credential of a holder as cards, in a number of queries that does not grow with
    their entries or credentials. `revision`: the rules revision read with the signed-in
    user, if any (`renewal_rules`). Without `on`, each card is judged on its issuer's
    current date (`issuer_today`)."""
    ledger = holder_ledger(holder_id, revision)
    cards = [
        group_card(group, ledger, on or issuer_today(group.top.program)) for group in ledger.groups
    ]
    urgency = {Status.IN_GRACE: 0, Status.EXPIRING: 1, Status.LAPSED: 2, Status.ACTIVE: 3}
    cards.sort(
        key=lambda card: (
            urgency.get(card.status, 4),
            10**6 if card.days_left is None else card.days_left,
        )
    )
    return cards


@dataclass(frozen=True)
class RenewalPlan:
    """A renewal group's page: its card, every activity inside its window with what counts and
    why, and what renewing now would do (the new terms, the units consumed and carried over)."""

    card: CredentialCard
    entries: list[tuple[EntryRow, "EntryOutcome"]]
    new_terms: list[tuple[Credential, datetime.date, datetime.date]]

    @property
    def group(self) -> RenewalGroup:
        return self.card.group

    @property
    def requirements(self) -> RenewalRequirements:
        return self.card.requirements

    @property
    def consumed(self) -> list[tuple[EntryRow, "EntryOutcome"]]:
        """The activities a renewal now would use up (all inside the window, counted or not)."""
        balance = self.card.balance
        ids = balance.entry_ids if balance is not None else frozenset()
        return [(row, outcome) for row, outcome in self.entries if row.pk in ids]

    @property
    def carried_over(self) -> Decimal:
        balance = self.card.balance
        return balance.carried_over if balance is not None else Decimal(0)

    @property
    def next_window_starts_on(self) -> datetime.date | None:
        """First day an activity can count toward the renewal after this one (the look-back
        window before the new term's end): activities dated before it count toward neither."""
        version = self.requirements.version
        if not self.new_terms or version is None:
            return None
        return add_months(self.new_terms[0][2], -version.lookback_months)


def renewal_plan(
    holder_id: int, credential_id: int, on: datetime.date | None = None
) -> RenewalPlan:
    """The renewal page of one of the holder's credentials (with its group), in a fixed
    number of queries, judged on the issuer's date without `on` (`issuer_today`). Raises
    Credential.DoesNotExist for another holder's credential."""
    ledger = holder_ledger(holder_id)
    group = ledger.group_of(credential_id)
    on = on or issuer_today(group.top.program)
    card = group_card(group, ledger, on)
    balance = group_balance(group, ledger, on)
    entries = []
    if balance is not None:
        rows = {row.pk: row for row in ledger.entries}
        for entry_id, count in balance.entries.items():
            row = rows[entry_id]
            rules = card.requirements.rules
            in_window = rules.window_start <= row.activity_date <= rules.window_end
            if row.voided or not (in_window or count.counted):
                continue
            entries.append((row, EntryOutcome(group=group, count=count)))
        entries.sort(key=lambda item: (item[0].activity_date, item[0].pk))
    new_terms = []
    if group.ends_on is not None:
        next_end = add_months(group.ends_on, group.top.program.validity_months)
        new_terms = [(member, group.ends_on, next_end) for member in group.credentials]
    return RenewalPlan(card=card, entries=entries, new_terms=new_terms)


@dataclass(frozen=True)
class EntryOutcome:
    """How one entry counts toward one renewal (a credential or a group renewing together)."""

    group: RenewalGroup
    count: EntryCount

    @property
    def label(self) -> str:
        return self.group.label

    @property
    def counted(self) -> Decimal:
        return self.count.counted

    @property
    def voided(self) -> bool:
        return any(item.reason == Reason.VOIDED for item in self.count.not_counted)

    @property
    def reasons(self) -> list[str]:
        """Each part that does not count, with its units: "92 over the daily cap of 8 SEU a
        day"."""
        # Translators: units that do not count and why ("92 over the daily cap of 8 SEU a day").
        text = gettext("{units} {reason}")
        return [
            text.format(units=fmt_units(i.units), reason=i.text) for i in self.count.not_counted
        ]

    @property
    def sentence(self) -> str:
        """What a holder is told after saving the entry: "8 of 10 hours count toward CSPO; 2 do
        not (over the daily cap of 8 SEU a day)"."""
        count, label = self.count, self.label
        hours, counted = count.hours, count.counted
        if counted == hours:
            if hours == 1:
                # Translators: {label} names a renewal ("CSPO", "CSM + CSPO"); the sentence
                # follows "Logged “title”: " and so starts in lower case.
                return gettext("its 1 hour counts toward {label}").format(label=label)
            return gettext("all {hours} hours count toward {label}").format(
                hours=fmt_units(hours), label=label
            )
        reasons: dict[str, Decimal] = {}
        for item in count.not_counted:
            reasons[item.text] = reasons.get(item.text, Decimal(0)) + item.units
        if len(reasons) == 1:
            why = next(iter(reasons))
        else:
            text = gettext("{units} {reason}")
            why = "; ".join(
                text.format(units=fmt_units(units), reason=reason)
                for reason, units in reasons.items()
            )
        if counted == 0:
            if hours == 1:
                return gettext("its 1 hour does not count toward {label} ({why})").format(
                    label=label, why=why
                )
            return gettext("none of its {hours} hours count toward {label} ({why})").format(
                hours=fmt_units(hours), label=label, why=why
            )
        rest = hours - counted
        values = {
            "counted": fmt_units(counted),
            "hours": fmt_units(hours),
            "label": label,
            "rest": fmt_units(rest),
            "why": why,
        }
        if rest == 1:
            return gettext(
                "{counted} of {hours} hours count toward {label}; {rest} does not ({why})"
            ).format(**values)
        return gettext(
            "{counted} of {hours} hours count toward {label}; {rest} do not ({why})"
        ).format(**values)

    @property
    def text(self) -> str:
        """In one sentence: "CSPO: 8 of 100 count; 92 over the daily cap of 8 SEU a day"."""
        count = self.count
        unit = self.group.unit_name
        if not count.not_counted:
            head = gettext("{label}: all {hours} count").format(
                label=self.label, hours=fmt_units(count.hours)
            )
        elif not count.counted:
            head = gettext("{label}: none count").format(label=self.label)
        else:
            head = gettext("{label}: {counted} of {hours} count").format(
                label=self.label, counted=fmt_units(count.counted), hours=fmt_units(count.hours)
            )
        carried = count.carried_total
        if carried:
            # Translators: {outcome} is e.g. "CSPO: 8 of 10 count".
            head = gettext("{outcome} ({units} {unit} carry over to the next cycle)").format(
                outcome=head, units=fmt_units(carried), unit=unit
            )
        if not count.not_counted:
            return head
        return f"{head}; " + "; ".join(self.reasons)


def outcome_lines(outcomes: list[EntryOutcome]) -> tuple[str, str]:
    """An entry's outcomes as two plain strings for exports and PDFs: what counts toward
    which renewal ("CSPO: 8; PMI-ACP: 8") and why the rest does not ("CSPO: 92 over the daily
    cap of 8 SEU a day")."""
    counted = "; ".join(f"{o.label}: {fmt_units(o.counted)}" for o in outcomes)
    why = "; ".join(f"{o.label}: {', '.join(o.reasons)}" for o in outcomes if o.reasons)
    return counted, why


def entry_outcomes(
    ledger: HolderLedger,
    on: datetime.date | None = None,
    *,
    entry_ids: Collection[int] | None = None,
) -> dict[int, list[EntryOutcome]]:
    """For every entry of the holder (voided ones included), or only those in `entry_ids` (a
    page's rows), how it counts toward each renewal it could count toward: units counted, and
    for every unit not counted why not. Every entry is counted either way, so an entry's
    outcome never depends on which others are asked for; the work of putting outcomes together
    is only done for those asked."""
    on = on or today()
    asked = None if entry_ids is None else set(entry_ids)
    outcomes: dict[int, list[EntryOutcome]] = {
        entry.pk: [] for entry in ledger.entries if asked is None or entry.pk in asked
    }
    for group in ledger.groups:
        balance = group_balance(group, ledger, on, explain_ids=asked)
        if balance is None:
            continue
        for entry_id, count in balance.entries.items():
            outcomes[entry_id].append(EntryOutcome(group=group, count=count))
    return outcomes


def default_category(
    holder_id: int, *, programs: list[Program] | None = None, revision: int | None = None
) -> Category | None:
    """The category a holder most likely logs under: learning at the issuer of their first
    credential (Scrum Alliance Learning, PMI Ways of Working...), or the first issuer's by name
    when they hold none. `programs`: `holder_programs(holder_id)` when the caller has them
    (first credential first); the categories come from `renewal_rules(revision)`."""
    programs = holder_programs(holder_id) if programs is None else programs
    candidates = [
        category
        for category in renewal_rules(revision).category_objects.values()
        if category.code in ("learning", "ways-of-working")
        and (not programs or category.issuer_id == programs[0].issuer_id)
    ]
    return min(candidates, key=lambda c: (c.issuer.name, c.pk), default=None)


def entry_categories(holder_id: int, *, current_id: int | None = None) -> QuerySet[Category]:
    """The categories an activity can be logged under (those with nothing inside them), of
    the issuers of the holder's credentials, or of every issuer when none of theirs has
    categories; ordered by issuer, with `current_id` (an entry's category today) always in.
    One query."""
    leaves = Category.objects.filter(children__isnull=True)
    theirs = leaves.filter(issuer__programs__credentials__holder_id=holder_id)
    wanted = Q(issuer_id__in=theirs.values("issuer_id")) | ~Exists(theirs)
    if current_id is not None:
        wanted |= Q(pk=current_id)
    return leaves.filter(wanted).select_related("issuer").order_by("issuer__name", "name")


def history_categories(holder_id: int) -> QuerySet[Category]:
    """The categories a holder's history can be filtered by: those of their issuers (as the
    activity form offers them) and any their activities are in. One query."""
    logged = Entry.objects.filter(holder_id=holder_id).values("category_id")
    return (
        Category.objects.filter(
            Q(pk__in=entry_categories(holder_id).values("pk")) | Q(pk__in=logged)
        )
        .select_related("issuer")
        .order_by("issuer__name", "name")
    )


def holder_programs(holder_id: int, revision: int | None = None) -> list[Program]:
    """The programs of the holder's credentials, issuer loaded, each once, the program of their
    first credential (earliest issued) first. One single-table query; the programs come from
    `renewal_rules(revision)` (shared: read only)."""
    programs = renewal_rules(revision).programs
    first: dict[int, datetime.date] = {}
    for program_id, issued_on in (
        Credential.objects.filter(holder_id=holder_id)
        .order_by()
        .values_list("program_id", "issued_on")
    ):
        first[program_id] = min(issued_on, first.get(program_id, issued_on))
    return [programs[pk] for pk in sorted(first, key=lambda pk: (first[pk], pk))]


def entry_category_choices(
    holder_id: int,
    *,
    programs: list[Program] | None = None,
    revision: int | None = None,
    current_id: int | None = None,
) -> list[Category]:
    """`entry_categories` as a list, from the shared rules and the holder's programs (no query
    when the caller has `programs`): the categories with nothing inside them of the issuers of
    the holder's credentials, or of every issuer when none of theirs has categories, by issuer
    name then name, with `current_id` always in. Shared instances: read only."""
    programs = holder_programs(holder_id, revision) if programs is None else programs
    rules = renewal_rules(revision)
    parents = {row.parent_id for row in rules.categories.values()}
    leaves = [c for c in rules.category_objects.values() if c.pk not in parents]
    issuers = {program.issuer_id for program in programs}
    theirs = [c for c in leaves if c.issuer_id in issuers]
    chosen = theirs or leaves
    if current_id is not None and current_id not in {c.pk for c in chosen}:
        chosen += [rules.category_objects[current_id]]
    return sorted(chosen, key=lambda c: (c.issuer.name, c.name, c.pk))


def daily_cap_notes(
    holder_id: int,
    on: datetime.date | None = None,
    *,
    programs: list[Program] | None = None,
    revision: int | None = None,
) -> list[str]:
    """For each issuer of the holder's credentials whose rules in force cap the units of a day,
    a sentence such as "Scrum Alliance counts at most 8 SEU a day.": the activity form says it
    before saving, not only after. `programs`: `holder_programs(holder_id)` when the caller has
    them; the rules come from `renewal_rules(revision)`."""
    on = on or today()
    programs = holder_programs(holder_id) if programs is None else programs
    rules = renewal_rules(revision)
    latest: dict[int, tuple[Program, RuleVersion]] = {}
    for program in programs:
        for version in rules.versions.get(program.pk, []):
            if version.effective_from <= on:
                latest[program.pk] = (program, version)
    caps: dict[str, tuple[Decimal, str]] = {}
    for program, version in latest.values():
        if version.daily_unit_cap is None:
            continue
        issuer, unit = program.issuer.name, program.unit_name
        if issuer not in caps or version.daily_unit_cap < caps[issuer][0]:
            caps[issuer] = (version.daily_unit_cap, unit)
    text = gettext("{issuer} counts at most {units} {unit} a day.")
    return [
        text.format(issuer=issuer, units=fmt_units(cap), unit=unit)
        for issuer, (cap, unit) in sorted(caps.items())
    ]


def rules_in_words(version: RuleVersion) -> list[str]:
    """A rule version as sentences, for staff to compare with the issuer's own page."""
    program = version.program
    unit = program.unit_name
    values = {
        "code": program.code,
        "name": program.name,
        "issuer": program.issuer.name,
        "day": formats.day(version.effective_from),
    }
    if version.applies_to_running_terms:
        first = gettext(
            "{code}, {name} ({issuer}): rules in force from {day}, for terms already running on "
            "that day too."
        )
    else:
        first = gettext(
            "{code}, {name} ({issuer}): rules in force from {day}, for terms starting from that "
            "day."
        )
    lines = [first.format(**values)]
    if program.is_lifetime:
        lines.append(gettext("It never expires: nothing to renew."))
        return lines
    values = {
        "months": program.validity_months,
        "units": fmt_units(version.units_required),
        "unit": unit,
        "lookback": version.lookback_months,
    }
    if version.daily_unit_cap is not None:
        values["cap"] = fmt_units(version.daily_unit_cap)
        renew = gettext(
            "Renew every {months} months with {units} {unit}, dated within the {lookback} months "
            "before the term's end; at most {cap} {unit} count per calendar day."
        )
    else:
        renew = gettext(
            "Renew every {months} months with {units} {unit}, dated within the {lookback} months "
            "before the term's end."
        )
    lines.append(renew.format(**values))
    limits = list(version.limits.select_related("category__parent"))
    depth = {limit.category_id: 0 for limit in limits}
    for limit in limits:
        node, level = limit.category.parent, 0
        while node is not None:
            level += 1
            node = node.parent
        depth[limit.category_id] = level
    for limit in sorted(
        limits,
        key=lambda limit: (
            (limit.category.parent.name if limit.category.parent else limit.category.name),
            depth[limit.category_id],
            limit.category.name,
        ),
    ):
        bounds = {"minimum": fmt_units(limit.min_units), "maximum": fmt_units(limit.max_units)}
        if limit.min_units is not None and limit.max_units is not None:
            text = gettext("at least {minimum} {unit} and at most {maximum} {unit}")
        elif limit.min_units is not None:
            text = gettext("at least {minimum} {unit}")
        elif limit.max_units is not None:
            text = gettext("at most {maximum} {unit}")
        else:
            text = ""
        bounds_text = text.format(unit=unit, **bounds)
        if limit.category.parent:
            # Translators: {bounds} is e.g. "at least 4 PDU and at most 12 PDU".
            line = gettext("{category} (inside {parent}): {bounds}.").format(
                category=limit.category.name, parent=limit.category.parent.name, bounds=bounds_text
            )
        else:
            line = f"{limit.category.name}: {bounds_text}."
        lines.append(line)
    if version.combined_addon_units:
        lines.append(
            gettext(
                "Renewed together with other {issuer} credentials, it adds {units} {unit} when "
                "it tops its own track."
            ).format(
                issuer=program.issuer.name,
                units=fmt_units(version.combined_addon_units),
                unit=unit,
            )
        )
    if version.carry_over_max:
        lines.append(
            gettext(
                "{unit} earned in the cycle's last {months} months beyond what the renewal needs "
                "carry over to the next cycle, up to {units}."
            ).format(
                unit=unit,
                months=version.carry_over_months,
                units=fmt_units(version.carry_over_max),
            )
        )
    else:
        lines.append(gettext("Nothing carries over to the next cycle."))
    if program.grace_days:
        lines.append(_after_end_in_words(program, version))
    else:
        lines.append(gettext("No grace period: it lapses the day after its end."))
    fee = money(program.fee_amount, program.currency)
    member_fee = money(program.member_fee_amount, program.currency)
    if not program.fee_required:
        lines.append(gettext("No renewal fee."))
    elif fee and member_fee:
        lines.append(
            gettext("Renewal fee {fee}, or {member_fee} for members of {issuer}.").format(
                fee=fee, member_fee=member_fee, issuer=program.issuer.name
            )
        )
    elif fee:
        lines.append(gettext("Renewal fee {fee}.").format(fee=fee))
    else:
        lines.append(gettext("Renewal fee set by staff when it is paid."))
    if version.source:
        lines.append(gettext("Source: {source}").format(source=version.source))
    return lines


def _after_end_in_words(program: Program, version: RuleVersion) -> str:
    """What the days after a term's end are, in one sentence (see `rules_in_words`)."""
    texts = {
        (True, False, False): gettext(
            # Translators: {period} is the issuer's word for the time after the end ("grace
            # period", "suspension"), {days} a number of days, {unit} SEU or PDU.
            "After the end: {period} for {days} days, during which the credential is still valid."
        ),
        (False, False, False): gettext(
            "After the end: {period} for {days} days, during which the credential is not valid."
        ),
        (True, True, False): gettext(
            "After the end: {period} for {days} days, during which the credential is still valid "
            "and {unit} dated up to the renewal count."
        ),
        (False, True, False): gettext(
            "After the end: {period} for {days} days, during which the credential is not valid "
            "and {unit} dated up to the renewal count."
        ),
        (True, False, True): gettext(
            "After the end: {period} for {days} days, during which the credential is still "
            "valid; after it, only the issuer's examination restores the credential."
        ),
        (False, False, True): gettext(
            "After the end: {period} for {days} days, during which the credential is not valid; "
            "after it, only the issuer's examination restores the credential."
        ),
        (True, True, True): gettext(
            "After the end: {period} for {days} days, during which the credential is still valid "
            "and {unit} dated up to the renewal count; after it, only the issuer's examination "
            "restores the credential."
        ),
        (False, True, True): gettext(
            "After the end: {period} for {days} days, during which the credential is not valid "
            "and {unit} dated up to the renewal count; after it, only the issuer's examination "
            "restores the credential."
        ),
    }
    key = (
        bool(program.valid_after_end),
        bool(version.units_after_end_count),
        bool(program.lapse_is_final),
    )
    return texts[key].format(
        period=program.after_end_words, days=program.grace_days, unit=program.unit_name
    )


def allocation_issuers(
    holder_id: int, *, programs: list[Program] | None = None, revision: int | None = None
) -> list[tuple]:
    """(issuer, its categories with nothing inside them) for each issuer of the holder's
    expiring credentials whose categories nest (PMI's skill areas): where the activity form
    asks how the hours split. By issuer name; categories by their parent's name, then name.
    `programs`: `holder_programs(holder_id)` when the caller has them; the categories come
    from `renewal_rules(revision)`."""
    programs = holder_programs(holder_id) if programs is None else programs
    rules = renewal_rules(revision)
    issuers = {p.issuer_id: p.issuer for p in programs if p.validity_months is not None}
    nesting = {
        row.issuer_id
        for row in rules.categories.values()
        if row.issuer_id in issuers and row.parent_id is not None
    }
    return [
        (issuers[issuer_id], rules.leaves_of(issuer_id))
        for issuer_id in sorted(nesting, key=lambda pk: issuers[pk].name)
    ]


def entry_allocation_initial(entry: Entry) -> dict[str, Decimal]:
    """The activity form's allocation fields for an entry's stored allocations."""
    return {
        f"hours_in_{category_id}": hours
        for category_id, hours in entry.allocations.values_list("category_id", "hours")
    }


def entries_counting_toward(term: Term, ledger: HolderLedger | None = None) -> set[int]:
    """Ids of the entries that count toward a term's renewal: those its renewal used, or for
    a term not renewed yet those with units counting now (from the holder's `ledger` when the
    caller has loaded it)."""
    renewal = Renewal.objects.filter(closed_term=term).first()
    if renewal is not None:
        return set(renewal.entries.values_list("pk", flat=True))
    ledger = ledger or holder_ledger(term.credential.holder_id)
    group = ledger.group_of(term.credential_id)
    member = next(c for c in group.credentials if c.pk == term.credential_id)
    if credential_current_term(member).pk != term.pk:
        return set()
    balance = group_balance(group, ledger)
    if balance is None:
        return set()
    return {entry_id for entry_id, count in balance.entries.items() if count.counted}


def units_required_on(program_id: int, on: datetime.date) -> Decimal | None:
    """Units (SEU, PDU, hours) a term of the program starting on `on` needs to renew, by the
    rule version in force that day; None when the program has no rules yet. One query."""
    return (
        RuleVersion.objects.filter(program_id=program_id, effective_from__lte=on)
        .order_by("-effective_from")
        .values_list("units_required", flat=True)
        .first()
    )


def rule_versions_in_force(
    on: datetime.date | None = None, program_code: str = ""
) -> list[RuleVersion]:
    """For each program (or the one coded `program_code`), the rule version a term starting
    on `on` is judged by: the latest in force that day. Limits and categories loaded."""
    on = on or today()
    versions = (
        RuleVersion.objects.filter(effective_from__lte=on)
        .select_related("program__issuer")
        .prefetch_related("limits__category__parent")
        .order_by("program__issuer__name", "program__level", "program__code", "effective_from")
    )
    if program_code:
        versions = versions.filter(program__code__iexact=program_code)
    latest: dict[int, RuleVersion] = {}
    for version in versions:
        latest[version.program_id] = version
    return list(latest.values())


@dataclass(frozen=True)
class _GroupState:
    label: str
    ends_on: datetime.date | None
    required: Decimal
    counted: Decimal
    unit_name: str
    counting: dict[int, Decimal]  # entry id -> units counted


def renewal_states(holder_id: int, on: datetime.date) -> tuple[dict, dict[int, EntryRow]]:
    """{credential id: its renewal group's label, end date, units required and counted, and
    what each entry counts}, and the holder's entries by id; for comparing before and after."""
    ledger = holder_ledger(holder_id)
    states = {}
    for group in ledger.groups:
        balance = group_balance(group, ledger, on)
        state = _GroupState(
            label=group.label,
            ends_on=group.ends_on,
            required=balance.required if balance else Decimal(0),
            counted=balance.counted if balance else Decimal(0),
            unit_name=group.unit_name,
            counting={
                entry_id: count.counted
                for entry_id, count in (balance.entries.items() if balance else ())
                if count.counted
            },
        )
        for member in group.credentials:
            states[member.pk] = state
    return states, {row.pk: row for row in ledger.entries}


def renewal_siblings(renewal: Renewal) -> list[Renewal]:
    """The renewals made together with this one (Scrum Alliance renews a holder's group in
    one go: same day, same old end date), highest level first; just this one elsewhere."""
    credential = renewal.closed_term.credential
    if not credential.program.issuer.combined_renewal:
        return [renewal]
    return list(
        Renewal.objects.filter(
            closed_term__credential__holder_id=credential.holder_id,
            closed_term__credential__program__issuer_id=credential.program.issuer_id,
            closed_term__ends_on=renewal.closed_term.ends_on,
            renewed_on=renewal.renewed_on,
        )
        # The issuer too: the transcript names each member's (one query per member else).
        .select_related("new_term__credential__program", "closed_term__credential__program__issuer")
        .order_by(
            "-closed_term__credential__program__level", "closed_term__credential__program__code"
        )
    )
