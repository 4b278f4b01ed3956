"""Reads about the ledger: what counts toward a renewal, what is missing, the fee."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet

from credentials.dates import add_months
from credentials.models import Credential, Membership, Term
from credentials.selectors import (
    RenewalGroup,
    Status,
    credential_current_term,
    credential_status,
    holders_credentials,
    renewal_groups_of,
    today,
)

from .models import Category, CategoryMapping, Entry, Fee, ProgramCategoryRule, Renewal
from .units import CountingRules, EntryFacts, UnitBalance, count_units


def entries_of(holder_id: int, *, include_voided: bool = True) -> QuerySet[Entry]:
    """A holder's ledger, newest first."""
    entries = Entry.objects.filter(holder_id=holder_id).select_related("category__issuer")
    return entries if include_voided else entries.filter(voided_at__isnull=True)


@dataclass
class HolderLedger:
    """Everything renewal arithmetic needs about one holder, loaded in a fixed number of queries
    however many entries they have; the rules then run in Python on these values."""

    holder_id: int
    credentials: list[Credential]
    groups: list[RenewalGroup]
    entries: list[tuple]  # live entries: (pk, activity_date, category_id, hours, title, course)
    consumed: dict[int, set[int]]  # entry id -> credentials whose renewal consumed it
    targets: dict[int, dict[int, int]]  # issuer id -> {category id: category it counts under}
    rules: dict[int, list[ProgramCategoryRule]]  # program id -> category rules
    fees: list[Fee]
    used_fee_ids: set[int]
    category_names: dict[int, str]

    def group_of(self, credential_id: int) -> RenewalGroup:
        for group in self.groups:
            if any(member.pk == credential_id for member in group.credentials):
                return group
        raise Credential.DoesNotExist(f"credential {credential_id} is not this holder's")


def holder_ledger(holder_id: int) -> HolderLedger:
    """Load a holder's credentials, live entries, consumption, categories, rules and fees."""
    return holder_ledgers([holder_id])[holder_id]


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
    entries_of_holder: dict[int, list[tuple]] = {pk: [] for pk in holder_ids}
    for holder_id, *entry in Entry.objects.filter(
        holder_id__in=holder_ids, voided_at__isnull=True
    ).values_list(
        "holder_id", "pk", "activity_date", "category_id", "hours", "title", "source_course_id"
    ):
        entries_of_holder[holder_id].append(tuple(entry))
    consumed_of: dict[int, dict[int, set[int]]] = {pk: {} for pk in holder_ids}
    for holder_id, entry_id, credential_id in Renewal.entries.through.objects.filter(
        entry__holder_id__in=holder_ids
    ).values_list("entry__holder_id", "entry_id", "renewal__closed_term__credential_id"):
        consumed_of[holder_id].setdefault(entry_id, set()).add(credential_id)
    issuer_ids = {c.program.issuer_id for cs in credentials_of.values() for c in cs}
    program_ids = {c.program_id for cs in credentials_of.values() for c in cs}
    all_targets: dict[int, dict[int, int]] = {issuer_id: {} for issuer_id in issuer_ids}
    names = {}
    for pk, issuer_id, name in Category.objects.values_list("pk", "issuer_id", "name"):
        names[pk] = name
        if issuer_id in all_targets:
            all_targets[issuer_id][pk] = pk
    for source_id, target_id, issuer_id in CategoryMapping.objects.filter(
        target__issuer_id__in=issuer_ids
    ).values_list("source_id", "target_id", "target__issuer_id"):
        all_targets[issuer_id].setdefault(source_id, target_id)
    rules: dict[int, list[ProgramCategoryRule]] = {}
    for rule in ProgramCategoryRule.objects.filter(program_id__in=program_ids):
        rules.setdefault(rule.program_id, []).append(rule)
    fees_of: dict[int, list[Fee]] = {pk: [] for pk in holder_ids}
    for fee in Fee.objects.filter(holder_id__in=holder_ids):
        fees_of[fee.holder_id].append(fee)
    used_fee_ids = set(
        Renewal.objects.filter(fee__holder_id__in=holder_ids).values_list("fee_id", flat=True)
    )
    ledgers = {}
    for holder_id in holder_ids:
        credentials = credentials_of[holder_id]
        issuers = {credential.program.issuer_id for credential in credentials}
        ledgers[holder_id] = HolderLedger(
            holder_id=holder_id,
            credentials=credentials,
            groups=renewal_groups_of(credentials, memberships_of[holder_id]),
            entries=entries_of_holder[holder_id],
            consumed=consumed_of[holder_id],
            targets={issuer_id: all_targets[issuer_id] for issuer_id in issuers},
            rules=rules,
            fees=fees_of[holder_id],
            used_fee_ids=used_fee_ids,
            category_names=names,
        )
    return ledgers


def counting_rules(group: RenewalGroup, ledger: HolderLedger) -> CountingRules:
    """The window, daily cap and category limits that apply to renewing a group."""
    top = group.top.program
    caps = [p.daily_unit_cap for p in group.programs if p.daily_unit_cap is not None]
    category_min: dict[int, Decimal] = {}
    category_max: dict[int, Decimal] = {}
    for program in group.programs:
        for rule in ledger.rules.get(program.pk, []):
            if rule.min_units is not None:
                category_min[rule.category_id] = max(
                    category_min.get(rule.category_id, rule.min_units), rule.min_units
                )
            if rule.max_units is not None:
                category_max[rule.category_id] = min(
                    category_max.get(rule.category_id, rule.max_units), rule.max_units
                )
    return CountingRules(
        window_start=add_months(group.ends_on, -top.lookback_months),
        window_end=group.ends_on,
        units_required=group.units_required,
        daily_cap=min(caps) if caps else None,
        category_min=category_min,
        category_max=category_max,
    )


def candidate_facts(group: RenewalGroup, ledger: HolderLedger) -> list[EntryFacts]:
    """Live entries that may count toward renewing the group: under a category the issuer
    recognises, not consumed by an earlier renewal of any credential in the group, and not
    from the course that earned one of them. (The window is applied by `count_units`.)"""
    credential_ids = {credential.pk for credential in group.credentials}
    earning_courses = {c.source_course_id for c in group.credentials if c.source_course_id}
    targets = ledger.targets.get(group.top.program.issuer_id, {})
    return [
        EntryFacts(
            entry_id=pk,
            activity_date=activity_date,
            category_id=targets[category_id],
            hours=hours,
            title=title,
        )
        for pk, activity_date, category_id, hours, title, course_id in ledger.entries
        if category_id in targets
        and not (ledger.consumed.get(pk, set()) & credential_ids)
        and course_id not in earning_courses
    ]


def group_balance(group: RenewalGroup, ledger: HolderLedger | None = None) -> UnitBalance:
    """Units counted toward renewing the group, and what is missing."""
    ledger = ledger or holder_ledger(group.top.holder_id)
    return count_units(candidate_facts(group, ledger), counting_rules(group, ledger))


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

    @property
    def ready(self) -> bool:
        return not self.reasons

    @property
    def fee_status(self) -> str:
        if not self.group.fee_required:
            return "not_required"
        return self.fee.status if self.fee else Fee.Status.DUE

    def messages(self) -> list[str]:
        return [message for messages in self.reasons.values() for message in messages]


LIFETIME = "{program} never expires: there is nothing to renew."
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
    next_end = add_months(group.ends_on, program.validity_months)
    if next_end < on:
        reasons["term"] = [
            LAPSED_TOO_LONG.format(ends_on=group.ends_on.isoformat(), issuer=program.issuer.name)
        ]
    rules = counting_rules(group, ledger)
    balance = count_units(candidate_facts(group, ledger), rules)
    names = ledger.category_names
    unit_messages = []
    if balance.counted < balance.required:
        unit_messages.append(
            UNITS_SHORT.format(
                missing=fmt_units(balance.required - balance.counted),
                unit=group.unit_name,
                required=fmt_units(balance.required),
                counted=fmt_units(balance.counted),
            )
        )
    for category_id, missing in balance.missing_by_category.items():
        unit_messages.append(
            CATEGORY_SHORT.format(
                missing=fmt_units(missing),
                unit=group.unit_name,
                category=names.get(category_id, "?"),
                minimum=fmt_units(rules.category_min[category_id]),
            )
        )
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
        group=group, balance=balance, fee=fee, reasons=reasons, category_names=names
    )


@dataclass(frozen=True)
class CategoryProgress:
    name: str
    counted: Decimal
    minimum: Decimal | None
    maximum: Decimal | None

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
    category_rules: tuple[ProgramCategoryRule, ...] = ()

    @property
    def group(self) -> RenewalGroup:
        return self.requirements.group

    @property
    def balance(self) -> UnitBalance | None:
        return self.requirements.balance

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
        if self.balance is None:
            return []
        rules = {rule.category_id: rule for rule in self.category_rules}
        return [
            CategoryProgress(
                name=self.requirements.category_names.get(category_id, "?"),
                counted=self.balance.by_category.get(category_id, Decimal(0)),
                minimum=rule.min_units,
                maximum=rule.max_units,
            )
            for category_id, rule in rules.items()
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
                category_rules=tuple(
                    rule for program in group.programs for rule in ledger.rules.get(program.pk, [])
                ),
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


def entry_counts_toward(entry: Entry) -> list[str]:
    """Labels of the holder's renewals (credentials or groups) that this entry counts toward."""
    ledger = holder_ledger(entry.holder_id)
    labels = []
    for group in ledger.groups:
        if group.ends_on is None:
            continue
        rules = counting_rules(group, ledger)
        facts = [f for f in candidate_facts(group, ledger) if f.entry_id == entry.pk]
        if facts and rules.window_start <= facts[0].activity_date <= rules.window_end:
            labels.append(group.label)
    return labels


def default_category(holder_id: int) -> Category | None:
    """The category a holder most likely logs under: learning at the issuer of their first
    credential (Scrum Alliance Learning, PMI Education...)."""
    issuer_ids = list(
        Credential.objects.filter(holder_id=holder_id)
        .order_by("issued_on")
        .values_list("program__issuer_id", flat=True)[:1]
    )
    categories = Category.objects.filter(code__in=("learning", "education"))
    if issuer_ids:
        categories = categories.filter(issuer_id=issuer_ids[0])
    return categories.order_by("issuer__name").first()
