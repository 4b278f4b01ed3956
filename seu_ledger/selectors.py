"""Reads about the ledger: what counts toward a renewal, what is missing, the fee."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet

from credentials.dates import add_months
from credentials.models import Credential
from credentials.selectors import RenewalGroup, renewal_group, today

from .models import Category, CategoryMapping, Entry, Fee, ProgramCategoryRule
from .units import CountingRules, EntryFacts, UnitBalance, count_units


def entries_of(holder_id: int, *, include_voided: bool = True) -> QuerySet[Entry]:
    """A holder's ledger, newest first."""
    entries = Entry.objects.filter(holder_id=holder_id).select_related("category__issuer")
    return entries if include_voided else entries.filter(voided_at__isnull=True)


def category_targets(issuer_id: int) -> dict[int, int]:
    """Category id -> the category it counts under for `issuer_id` (its own, or by mapping)."""
    targets = {
        pk: pk for pk in Category.objects.filter(issuer_id=issuer_id).values_list("pk", flat=True)
    }
    for source_id, target_id in CategoryMapping.objects.filter(
        target__issuer_id=issuer_id
    ).values_list("source_id", "target_id"):
        targets.setdefault(source_id, target_id)
    return targets


def counting_rules(group: RenewalGroup) -> CountingRules:
    """The window, daily cap and category limits that apply to renewing a group."""
    top = group.top.program
    caps = [p.daily_unit_cap for p in group.programs if p.daily_unit_cap is not None]
    category_min: dict[int, Decimal] = {}
    category_max: dict[int, Decimal] = {}
    for rule in ProgramCategoryRule.objects.filter(program__in=group.programs):
        if rule.min_units is not None:
            category_min[rule.category_id] = max(
                category_min.get(rule.category_id, 0), rule.min_units
            )
        if rule.max_units is not None:
            current = category_max.get(rule.category_id)
            category_max[rule.category_id] = (
                rule.max_units if current is None else min(current, rule.max_units)
            )
    return CountingRules(
        window_start=add_months(group.ends_on, -top.lookback_months),
        window_end=group.ends_on,
        units_required=group.units_required,
        daily_cap=min(caps) if caps else None,
        category_min=category_min,
        category_max=category_max,
    )


def renewal_candidates(group: RenewalGroup, rules: CountingRules) -> QuerySet[Entry]:
    """Live entries that may count toward renewing the group: inside the window, under a
    category the issuer recognises, not consumed by an earlier renewal of any credential in the
    group, and not from the course that earned one of them."""
    credential_ids = [credential.pk for credential in group.credentials]
    earning_courses = [c.source_course_id for c in group.credentials if c.source_course_id]
    targets = category_targets(group.top.program.issuer_id)
    return (
        Entry.objects.filter(
            holder_id=group.top.holder_id,
            voided_at__isnull=True,
            activity_date__gte=rules.window_start,
            activity_date__lte=rules.window_end,
            category_id__in=list(targets),
        )
        .exclude(renewals__closed_term__credential_id__in=credential_ids)
        .exclude(source_course_id__in=earning_courses)
        .distinct()
    )


def group_balance(group: RenewalGroup) -> UnitBalance:
    """Units counted toward renewing the group and what is missing, from one entries query."""
    rules = counting_rules(group)
    targets = category_targets(group.top.program.issuer_id)
    facts = [
        EntryFacts(
            entry_id=pk,
            activity_date=activity_date,
            category_id=targets[category_id],
            hours=hours,
            title=title,
        )
        for pk, activity_date, category_id, hours, title in renewal_candidates(
            group, rules
        ).values_list("pk", "activity_date", "category_id", "hours", "title")
    ]
    return count_units(facts, rules)


def group_fee(group: RenewalGroup) -> Fee | None:
    """The fee record for renewing the group, if anyone has recorded one."""
    if group.ends_on is None:
        return None
    return fee_lookup(group).first()


def fee_lookup(group: RenewalGroup) -> QuerySet[Fee]:
    if group.combined:
        return Fee.objects.filter(
            holder_id=group.top.holder_id,
            issuer_id=group.top.program.issuer_id,
            credential__isnull=True,
            period_ends_on=group.ends_on,
        )
    return Fee.objects.filter(credential=group.top, period_ends_on=group.ends_on)


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
    on = on or today()
    group = renewal_group(credential)
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
    balance = group_balance(group)
    names = dict(
        Category.objects.filter(
            pk__in=[*balance.by_category, *balance.missing_by_category]
        ).values_list("pk", "name")
    )
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
    rules = counting_rules(group)
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
    fee = group_fee(group)
    if group.fee_required and not (fee and fee.is_settled):
        if fee and fee.status == Fee.Status.SUBMITTED:
            reasons["fee"] = [FEE_SUBMITTED.format(reference=fee.reference)]
        else:
            amount = money(group.fee_amount, group.currency)
            reasons["fee"] = [FEE_DUE.format(amount=f" of {amount}" if amount else "")]
    return RenewalRequirements(
        group=group, balance=balance, fee=fee, reasons=reasons, category_names=names
    )


def credentials_of(holder_id: int) -> QuerySet[Credential]:
    """A holder's credentials with what the status rules need, in few queries."""
    return (
        Credential.objects.filter(holder_id=holder_id)
        .select_related("program__issuer", "source_course")
        .prefetch_related("terms")
    )
