"""Reads for staff: credentials by status and program, expirations by month, who is on track,
and who is at risk. Set-based queries; the at-risk list applies the exact renewal rules to the
few holders whose credentials end soon."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce, TruncMonth

from credentials.dates import add_months
from credentials.models import Credential, Program, Term
from credentials.selectors import Status, credentials_with_valid_through, status_condition

from .models import Entry, Fee
from .selectors import group_requirements, holder_ledgers

STATUSES = (Status.ACTIVE, Status.EXPIRING, Status.IN_GRACE, Status.LAPSED, Status.NOT_YET_VALID)
AT_RISK_DAYS = 60
CHUNK = 2000


def current_terms():
    """Each credential's latest term, of active holders."""
    newer = Term.objects.filter(
        credential_id=OuterRef("credential_id"), sequence__gt=OuterRef("sequence")
    )
    return Term.objects.exclude(Exists(newer)).filter(credential__holder__is_active=True)


@dataclass(frozen=True)
class StatusTable:
    statuses: tuple[Status, ...]
    rows: list[tuple[str, list[int], int]]  # program code, count per status, total
    totals: list[int]
    total: int


def status_counts(on: datetime.date) -> StatusTable:
    """How many credentials each program has in each status on a day: one query a status."""
    counts: dict[str, dict[Status, int]] = {
        code: {} for code in Program.objects.order_by("code").values_list("code", flat=True)
    }
    for status in STATUSES:
        # The status needs each credential's latest end (an aggregate), so it is a subquery;
        # grouping by program around it would aggregate the ends per program instead.
        in_status = credentials_with_valid_through().filter(status_condition(status, on))
        for code, count in (
            Credential.objects.filter(pk__in=in_status.values("pk"), holder__is_active=True)
            .values_list("program__code")
            .annotate(count=Count("pk"))
            .order_by()
        ):
            counts[code][status] = count
    rows = [
        (code, [by_status.get(s, 0) for s in STATUSES], sum(by_status.values()))
        for code, by_status in counts.items()
        if by_status
    ]
    totals = [sum(row[1][index] for row in rows) for index in range(len(STATUSES))]
    return StatusTable(STATUSES, rows, totals, sum(totals))


@dataclass(frozen=True)
class MonthCount:
    month: datetime.date  # the first day
    count: int


def expirations_by_month(on: datetime.date, months: int = 12) -> list[MonthCount]:
    """Credentials whose current term ends in each month, from this month on: one query."""
    start = on.replace(day=1)
    end = add_months(start, months)
    found = dict(
        current_terms()
        .filter(ends_on__gte=start, ends_on__lt=end)
        .annotate(month=TruncMonth("ends_on"))
        .values_list("month")
        .annotate(count=Count("pk"))
        .order_by()
    )
    found = {
        (month.date() if isinstance(month, datetime.datetime) else month): n
        for month, n in found.items()
    }
    return [
        MonthCount(add_months(start, index), found.get(add_months(start, index), 0))
        for index in range(months)
    ]


@dataclass(frozen=True)
class OnTrack:
    on_track: int
    holders: int

    @property
    def percent(self) -> int:
        return round(self.on_track * 100 / self.holders) if self.holders else 100


def holders_on_track(on: datetime.date) -> OnTrack:
    """Holders whose every running, renewable credential has the units logged in its current
    term at least in proportion to the time elapsed (20 SEU, half the term gone: 10 logged).
    Counts hours logged under the issuer's own categories, before daily caps and category
    limits: a pace indicator; the at-risk list applies the exact rules. One query."""
    logged = (
        Entry.objects.filter(
            holder_id=OuterRef("credential__holder_id"),
            voided_at__isnull=True,
            category__issuer_id=OuterRef("credential__program__issuer_id"),
            activity_date__gte=OuterRef("starts_on"),
            activity_date__lte=on,
        )
        .order_by()
        .values("holder_id")
        .annotate(total=Sum("hours"))
        .values("total")
    )
    terms = (
        current_terms()
        .filter(starts_on__lte=on, ends_on__gte=on, credential__program__units_required__gt=0)
        .annotate(logged=Coalesce(Subquery(logged), Decimal(0)))
        .values_list(
            "credential__holder_id",
            "starts_on",
            "ends_on",
            "credential__program__units_required",
            "logged",
        )
    )
    behind, holders = set(), set()
    for holder_id, starts_on, ends_on, required, units in terms:
        holders.add(holder_id)
        elapsed = Decimal((on - starts_on).days) / Decimal(max((ends_on - starts_on).days, 1))
        if Decimal(units) < required * elapsed:
            behind.add(holder_id)
    return OnTrack(on_track=len(holders - behind), holders=len(holders))


@dataclass(frozen=True)
class AtRisk:
    """A credential (or group renewing together) ending soon with units or the fee missing."""

    holder_id: int
    holder_name: str
    email: str
    label: str
    program_codes: tuple[str, ...]
    ends_on: datetime.date
    days_left: int
    units_counted: Decimal
    units_required: Decimal
    unit_name: str
    fee_status: str
    missing: tuple[str, ...]  # "units", "fee"
    credential_id: int

    @property
    def units_missing(self) -> Decimal:
        return max(self.units_required - self.units_counted, Decimal(0))


def at_risk(
    on: datetime.date,
    *,
    within_days: int = AT_RISK_DAYS,
    program: str = "",
    missing: str = "",
) -> list[AtRisk]:
    """Credentials ending within `within_days` (at most 60) whose renewal lacks units or the
    fee, by the exact renewal rules, soonest first. Filter by program code or by what is
    missing ("units" or "fee"). A fixed number of queries per 2,000 holders."""
    within_days = max(0, min(within_days, AT_RISK_DAYS))
    soon = current_terms().filter(
        ends_on__gte=on, ends_on__lte=on + datetime.timedelta(days=within_days)
    )
    if program:
        soon = soon.filter(credential__program__code=program)
    holder_ids = sorted(set(soon.values_list("credential__holder_id", flat=True)))
    found = []
    for start in range(0, len(holder_ids), CHUNK):
        ledgers = holder_ledgers(holder_ids[start : start + CHUNK])
        for ledger in ledgers.values():
            for group in ledger.groups:
                if group.ends_on is None or not on <= group.ends_on <= on + datetime.timedelta(
                    days=within_days
                ):
                    continue
                if program and program not in {p.code for p in group.programs}:
                    continue
                requirements = group_requirements(group, ledger, on)
                lacking = tuple(key for key in ("units", "fee") if key in requirements.reasons)
                if not lacking or (missing and missing not in lacking):
                    continue
                holder = group.top.holder
                found.append(
                    AtRisk(
                        holder_id=holder.pk,
                        holder_name=holder.get_full_name(),
                        email=holder.email,
                        label=group.label,
                        program_codes=tuple(p.code for p in group.programs),
                        ends_on=group.ends_on,
                        days_left=(group.ends_on - on).days,
                        units_counted=requirements.balance.counted,
                        units_required=requirements.balance.required,
                        unit_name=group.unit_name,
                        fee_status=requirements.fee_status,
                        missing=lacking,
                        credential_id=group.top.pk,
                    )
                )
    found.sort(key=lambda row: (row.ends_on, row.email))
    return found


FEE_LABELS = {
    "not_required": "not required",
    Fee.Status.DUE: "due",
    Fee.Status.SUBMITTED: "paid, to confirm",
    Fee.Status.PAID: "paid",
    Fee.Status.WAIVED: "waived",
}


def fee_label(status: str) -> str:
    return FEE_LABELS.get(status, status)
