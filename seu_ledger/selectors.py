"""Reads about the ledger: what counts toward a renewal, what is missing, the fee."""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from django.db.models import Exists, Q, QuerySet

from credentials.dates import add_months
from credentials.models import Credential, Membership, Term
from credentials.selectors import (
    RenewalGroup,
    Status,
    credential_current_term,
    credential_status,
    holders_credentials,
    renewal_groups_of,
    status_label,
    today,
    track_tops,
)

from .models import (
    Allocation,
    CarriedUnits,
    Category,
    CategoryMapping,
    Entry,
    Fee,
    Renewal,
    RuleVersion,
)
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


def holder_ledger(holder_id: int) -> HolderLedger:
    """Load a holder's credentials, entries, allocations, consumption, categories, rules and
    fees."""
    return holder_ledgers([holder_id])[holder_id]


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


def holder_ledgers(holder_ids: list[int]) -> dict[int, HolderLedger]:
    """`holder_ledger` for many holders at once, in the same fixed number of queries (callers
    pass chunks of a few thousand)."""
    holder_ids = list(holder_ids)
    credentials_of: dict[int, list[Credential]] = {pk: [] for pk in holder_ids}
    for credential in holders_credentials(holder_ids):
        credentials_of[credential.holder_id].append(credential)
    memberships_of: dict[int, list] = {pk: [] for pk in holder_ids}
    for membership in Membership.objects.filter(holder_id__in=holder_ids):
        memberships_of[membership.holder_id].append(membership)
    entries_of_holder: dict[int, list[EntryRow]] = {pk: [] for pk in holder_ids}
    for holder_id, *row in Entry.objects.filter(holder_id__in=holder_ids).values_list(
        "holder_id",
        "pk",
        "activity_date",
        "category_id",
        "hours",
        "title",
        "source_course_id",
        "voided_at",
    ):
        *fields, voided_at = row
        entries_of_holder[holder_id].append(EntryRow(*fields, voided_at is not None))
    allocations_of: dict[int, dict[int, list]] = {pk: {} for pk in holder_ids}
    for holder_id, entry_id, category_id, hours in Allocation.objects.filter(
        entry__holder_id__in=holder_ids
    ).values_list("entry__holder_id", "entry_id", "category_id", "hours"):
        allocations_of[holder_id].setdefault(entry_id, []).append((category_id, hours))
    consumed_of: dict[int, dict[int, dict[int, str]]] = {pk: {} for pk in holder_ids}
    for (
        holder_id,
        entry_id,
        credential_id,
        code,
        sequence,
        renewed_on,
    ) in Renewal.entries.through.objects.filter(entry__holder_id__in=holder_ids).values_list(
        "entry__holder_id",
        "entry_id",
        "renewal__closed_term__credential_id",
        "renewal__closed_term__credential__program__code",
        "renewal__closed_term__sequence",
        "renewal__renewed_on",
    ):
        consumed_of[holder_id].setdefault(entry_id, {})[credential_id] = (
            f"renewal of {code} term {sequence} on {renewed_on.isoformat()}"
        )
    carried_of: dict[int, dict[int, dict[int, list]]] = {pk: {} for pk in holder_ids}
    for holder_id, term_id, entry_id, category_id, units in CarriedUnits.objects.filter(
        entry__holder_id__in=holder_ids
    ).values_list("entry__holder_id", "renewal__new_term_id", "entry_id", "category_id", "units"):
        into_term = carried_of[holder_id].setdefault(term_id, {})
        into_term.setdefault(entry_id, []).append((category_id, units))
    program_ids = {c.program_id for cs in credentials_of.values() for c in cs}
    versions: dict[int, list[RuleVersion]] = {}
    for version in RuleVersion.objects.filter(program_id__in=program_ids).prefetch_related(
        "limits"
    ):
        versions.setdefault(version.program_id, []).append(version)
    categories = {
        pk: CategoryRow(pk, issuer_id, parent_id, name)
        for pk, issuer_id, parent_id, name in Category.objects.values_list(
            "pk", "issuer_id", "parent_id", "name"
        )
    }
    mappings: dict[int, dict[int, int]] = defaultdict(dict)
    for source_id, target_id, issuer_id in CategoryMapping.objects.values_list(
        "source_id", "target_id", "target__issuer_id"
    ):
        mappings[source_id].setdefault(issuer_id, target_id)
    targets = _targets(categories, mappings)
    fees_of: dict[int, list[Fee]] = {pk: [] for pk in holder_ids}
    for fee in Fee.objects.filter(holder_id__in=holder_ids):
        fees_of[fee.holder_id].append(fee)
    used_fee_ids = set(
        Renewal.objects.filter(fee__holder_id__in=holder_ids).values_list("fee_id", flat=True)
    )
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
            targets=targets,
            versions=versions,
            categories=categories,
            fees=fees_of[holder_id],
            used_fee_ids=used_fee_ids,
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
        cap_label=f"{fmt_units(cap)} {group.unit_name} a day" if cap is not None else "",
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
    earning = {c.source_course_id: c.program.code for c in group.credentials if c.source_course_id}
    issuer = group.top.program.issuer
    carried_in = ledger.carried.get(credential_current_term(group.top).pk, {})
    consumed, defaults, facts = ledger.consumed, {}, []
    for entry in ledger.entries:
        pk, day, hours, title = entry.pk, entry.activity_date, entry.hours, entry.title
        if entry.voided:
            preset = (NotCounted(Reason.VOIDED, hours),)
            facts.append(EntryFacts(pk, day, hours, (), preset, title))
            continue
        used_by = consumed.get(pk)
        if used_by and not credential_ids.isdisjoint(used_by):
            detail = max(d for c, d in used_by.items() if c in credential_ids)
            carried = tuple(Allocation_(c, u) for c, u in carried_in.get(pk, []))
            rest = hours - sum((a.units for a in carried), Decimal(0))
            preset = (NotCounted(Reason.CONSUMED, rest, detail),) if rest > 0 else ()
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
    group: RenewalGroup, ledger: HolderLedger | None = None, on: datetime.date | None = None
) -> UnitBalance | None:
    """Units counted toward renewing the group, what is missing, what would carry over, and
    why each unit of each entry counts or not. None without rules (lifetime, or none
    recorded)."""
    ledger = ledger or holder_ledger(group.top.holder_id)
    rules = counting_rules(group, ledger, on)
    if rules is None:
        return None
    return count_units(candidate_facts(group, ledger), rules)


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


LIFETIME = "{program} never expires: there is nothing to renew."
NO_RULES = "No renewal rules are recorded for {program}; staff add them in the admin."
UNITS_SHORT = "{missing} more {unit} needed: {required} required, {counted} counted."
CATEGORY_SHORT = "{missing} more {unit} of {category} needed (at least {minimum})."
FEE_DUE = "The renewal fee{amount} has not been paid."
FEE_SUBMITTED = (
    "The renewal fee is recorded as paid (reference {reference}) and awaits staff confirmation."
)
LAPSED_TOO_LONG = (
    "This credential ended on {ends_on}; a renewal now would start a term that is already over. "
    "Contact {issuer} to reinstate it."
)
LAPSE_IS_FINAL = (
    "This credential ended on {ends_on} and its {period} ended on {final_day}; {issuer} "
    "restores it only by a new examination."
)


def money(amount: Decimal | None, currency: str) -> str:
    if amount is None:
        return ""
    symbol = {"USD": "US$", "EUR": "€", "GBP": "£"}.get(currency, f"{currency} ")
    return f"{symbol}{amount:,.2f}".replace(".00", "")


def fmt_units(value: Decimal) -> str:
    return f"{value.normalize():f}"


def renewal_requirements(
    credential: Credential, on: datetime.date | None = None
) -> RenewalRequirements:
    """What renewing this credential (with its group) needs on a day, and what is missing."""
    ledger = holder_ledger(credential.holder_id)
    return group_requirements(ledger.group_of(credential.pk), ledger, on)


def _term_refusal(group: RenewalGroup, on: datetime.date) -> str | None:
    """Why the group's term cannot be renewed at all any more on a day, or None."""
    program = group.top.program
    if program.lapse_is_final and on > group.ends_on + datetime.timedelta(days=program.grace_days):
        final_day = group.ends_on + datetime.timedelta(days=program.grace_days)
        return LAPSE_IS_FINAL.format(
            ends_on=group.ends_on.isoformat(),
            period=program.after_end_name,
            final_day=final_day.isoformat(),
            issuer=program.issuer.name,
        )
    if add_months(group.ends_on, program.validity_months) < on:
        return LAPSED_TOO_LONG.format(ends_on=group.ends_on.isoformat(), issuer=program.issuer.name)
    return None


def group_requirements(
    group: RenewalGroup, ledger: HolderLedger, on: datetime.date | None = None
) -> RenewalRequirements:
    """What renewing a group needs on a day, from a loaded ledger (no queries)."""
    on = on or today()
    program = group.top.program
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
            reasons["fee"] = [FEE_DUE.format(amount=f" of {amount}" if amount else "")]
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
class CredentialCard:
    """One card of the dashboard: a credential, or a group that renews together."""

    requirements: RenewalRequirements
    status: Status
    days_left: int | None
    current_term: Term
    on: datetime.date

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
    def percent(self) -> int:
        balance = self.balance
        if balance is None or not balance.required:
            return 100
        return min(100, int(balance.counted * 100 / balance.required))

    @property
    def categories(self) -> list[CategoryProgress]:
        """Each category with a minimum or maximum, parents before their children."""
        rules = self.requirements.rules
        if self.balance is None or rules is None:
            return []
        limited = set(rules.category_min) | set(rules.category_max)

        def key(category_id):
            path = list(rules.ancestors(category_id))[::-1]
            return [self.requirements.category_names.get(node, "") for node in path]

        return [
            CategoryProgress(
                name=self.requirements.category_names.get(category_id, "?"),
                counted=self.balance.by_category.get(category_id, Decimal(0)),
                minimum=rules.category_min.get(category_id),
                maximum=rules.category_max.get(category_id),
                depth=rules.depth(category_id) - 1,
            )
            for category_id in sorted(limited, key=key)
        ]

    @property
    def next_action(self) -> str | None:
        """ "log", "fee", "renew" or None: the one thing to do next."""
        if self.lifetime or "term" in self.requirements.reasons:
            return None
        if "units" in self.requirements.reasons:
            return "log"
        if "fee" in self.requirements.reasons:
            return "fee"
        return "renew"

    @property
    def unverified(self) -> list[Credential]:
        return [credential for credential in self.group.credentials if not credential.verified]


def dashboard_cards(holder_id: int, on: datetime.date | None = None) -> list[CredentialCard]:
    """Every credential of a holder as cards, in a number of queries that does not grow with
    their entries or credentials."""
    on = on or today()
    ledger = holder_ledger(holder_id)
    cards = []
    for group in ledger.groups:
        top = group.top
        cards.append(
            CredentialCard(
                requirements=group_requirements(group, ledger, on),
                status=credential_status(top, on),
                days_left=None if group.ends_on is None else (group.ends_on - on).days,
                current_term=credential_current_term(top),
                on=on,
            )
        )
    urgency = {Status.IN_GRACE: 0, Status.EXPIRING: 1, Status.LAPSED: 2, Status.ACTIVE: 3}
    cards.sort(
        key=lambda card: (
            urgency.get(card.status, 4),
            10**6 if card.days_left is None else card.days_left,
        )
    )
    return cards


@dataclass(frozen=True)
class EntryOutcome:
    """How one entry counts toward one renewal (a credential or a group renewing together)."""

    group: RenewalGroup
    count: EntryCount

    @property
    def label(self) -> str:
        return self.group.label


def entry_outcomes(
    ledger: HolderLedger, on: datetime.date | None = None
) -> dict[int, list[EntryOutcome]]:
    """For every entry of the holder (voided ones included), how it counts toward each
    renewal it could count toward: units counted, and for every unit not counted why not."""
    on = on or today()
    outcomes: dict[int, list[EntryOutcome]] = {entry.pk: [] for entry in ledger.entries}
    for group in ledger.groups:
        balance = group_balance(group, ledger, on)
        if balance is None:
            continue
        for entry_id, count in balance.entries.items():
            outcomes[entry_id].append(EntryOutcome(group=group, count=count))
    return outcomes


def entry_counts_toward(entry: Entry, on: datetime.date | None = None) -> list[str]:
    """Labels of the holder's renewals (credentials or groups) that this entry counts toward."""
    ledger = holder_ledger(entry.holder_id)
    return [
        outcome.label
        for outcome in entry_outcomes(ledger, on).get(entry.pk, [])
        if outcome.count.counted > 0
    ]


def default_category(holder_id: int) -> Category | None:
    """The category a holder most likely logs under: learning at the issuer of their first
    credential (Scrum Alliance Learning, PMI Ways of Working...)."""
    issuer_ids = list(
        Credential.objects.filter(holder_id=holder_id)
        .order_by("issued_on")
        .values_list("program__issuer_id", flat=True)[:1]
    )
    categories = Category.objects.filter(code__in=("learning", "ways-of-working"))
    if issuer_ids:
        categories = categories.filter(issuer_id=issuer_ids[0])
    return categories.order_by("issuer__name").first()


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


def daily_cap_notes(holder_id: int, on: datetime.date | None = None) -> list[str]:
    """For each issuer of the holder's credentials whose rules in force cap the units of a day,
    a sentence such as "Scrum Alliance counts at most 8 SEU a day.": the activity form says it
    before saving, not only after."""
    on = on or today()
    latest: dict[int, RuleVersion] = {}
    for version in (
        RuleVersion.objects.filter(
            program__credentials__holder_id=holder_id, effective_from__lte=on
        )
        .select_related("program__issuer")
        .order_by("program_id", "effective_from")
    ):
        latest[version.program_id] = version
    caps: dict[str, tuple[Decimal, str]] = {}
    for version in latest.values():
        if version.daily_unit_cap is None:
            continue
        issuer, unit = version.program.issuer.name, version.program.unit_name
        if issuer not in caps or version.daily_unit_cap < caps[issuer][0]:
            caps[issuer] = (version.daily_unit_cap, unit)
    return [
        f"{issuer} counts at most {fmt_units(cap)} {unit} a day."
        for issuer, (cap, unit) in sorted(caps.items())
    ]


def rules_in_words(version: RuleVersion) -> list[str]:
    """A rule version as sentences, for staff to compare with the issuer's own page."""
    program = version.program
    unit = program.unit_name
    lines = [
        f"{program.code}, {program.name} ({program.issuer.name}): rules in force from "
        f"{version.effective_from.day} {version.effective_from:%B %Y}"
        + (
            ", for terms already running on that day too."
            if version.applies_to_running_terms
            else ", for terms starting from that day."
        )
    ]
    if program.is_lifetime:
        lines.append("It never expires: nothing to renew.")
        return lines
    cap = (
        f"; at most {fmt_units(version.daily_unit_cap)} {unit} count per calendar day"
        if version.daily_unit_cap is not None
        else ""
    )
    lines.append(
        f"Renew every {program.validity_months} months with {fmt_units(version.units_required)} "
        f"{unit}, dated within the {version.lookback_months} months before the term's end{cap}."
    )
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
        bounds = []
        if limit.min_units is not None:
            bounds.append(f"at least {fmt_units(limit.min_units)} {unit}")
        if limit.max_units is not None:
            bounds.append(f"at most {fmt_units(limit.max_units)} {unit}")
        inside = f" (inside {limit.category.parent.name})" if limit.category.parent else ""
        lines.append(f"{limit.category.name}{inside}: {' and '.join(bounds)}.")
    if version.combined_addon_units:
        lines.append(
            f"Renewed together with other {program.issuer.name} credentials, it adds "
            f"{fmt_units(version.combined_addon_units)} {unit} when it tops its own track."
        )
    if version.carry_over_max:
        lines.append(
            f"{unit} earned in the cycle's last {version.carry_over_months} months beyond what "
            "the renewal needs carry over to the next cycle, up to "
            f"{fmt_units(version.carry_over_max)}."
        )
    else:
        lines.append("Nothing carries over to the next cycle.")
    if program.grace_days:
        after = (
            f"After the end: {program.after_end_name} for {program.grace_days} days, during "
            f"which the credential is {'still' if program.valid_after_end else 'not'} valid"
        )
        if version.units_after_end_count:
            after += f" and {unit} dated up to the renewal count"
        if program.lapse_is_final:
            after += "; after it, only the issuer's examination restores the credential"
        lines.append(after + ".")
    else:
        lines.append("No grace period: it lapses the day after its end.")
    fee = money(program.fee_amount, program.currency)
    member_fee = money(program.member_fee_amount, program.currency)
    if not program.fee_required:
        lines.append("No renewal fee.")
    elif fee and member_fee:
        lines.append(f"Renewal fee {fee}, or {member_fee} for members of {program.issuer.name}.")
    elif fee:
        lines.append(f"Renewal fee {fee}.")
    else:
        lines.append("Renewal fee set by staff when it is paid.")
    if version.source:
        lines.append(f"Source: {version.source}")
    return lines


def allocation_issuers(holder_id: int) -> list[tuple]:
    """(issuer, its categories with nothing inside them) for each issuer of the holder's
    expiring credentials whose categories nest (PMI's skill areas): where the activity form
    asks how the hours split."""
    issuer_ids = set(
        Credential.objects.filter(holder_id=holder_id, program__validity_months__isnull=False)
        .values_list("program__issuer_id", flat=True)
        .distinct()
    )
    nesting = set(
        Category.objects.filter(issuer_id__in=issuer_ids, parent__isnull=False)
        .values_list("issuer_id", flat=True)
        .distinct()
    )
    leaves: dict[int, list[Category]] = {}
    for category in (
        Category.objects.filter(issuer_id__in=nesting, children__isnull=True)
        .select_related("issuer", "parent")
        .order_by("issuer__name", "parent__name", "name")
    ):
        leaves.setdefault(category.issuer_id, []).append(category)
    return [(categories[0].issuer, categories) for categories in leaves.values()]


def entry_allocation_initial(entry: Entry) -> dict[str, Decimal]:
    """The activity form's allocation fields for an entry's stored allocations."""
    return {
        f"hours_in_{category_id}": hours
        for category_id, hours in entry.allocations.values_list("category_id", "hours")
    }


def entries_counting_toward(term: Term) -> set[int]:
    """Ids of the entries that count toward a term's renewal: those its renewal used, or for
    a term not renewed yet those with units counting now."""
    renewal = Renewal.objects.filter(closed_term=term).first()
    if renewal is not None:
        return set(renewal.entries.values_list("pk", flat=True))
    ledger = holder_ledger(term.credential.holder_id)
    group = ledger.group_of(term.credential_id)
    member = next(c for c in group.credentials if c.pk == term.credential_id)
    if credential_current_term(member).pk != term.pk:
        return set()
    balance = group_balance(group, ledger)
    if balance is None:
        return set()
    return {entry_id for entry_id, count in balance.entries.items() if count.counted}


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
