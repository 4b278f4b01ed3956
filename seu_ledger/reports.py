"""Reads for staff: credentials by status and program, expirations by month, who is on track,
and who is at risk. Set-based queries; the at-risk list applies the exact renewal rules to the
few holders whose credentials lapse soon."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext_lazy as _

from credentials.dates import add_months
from credentials.models import Credential, Program, Term
from credentials.selectors import (
    Status,
    credential_current_term,
    credential_status,
    credentials_with_valid_through,
    status_condition,
    status_label,
)

from .models import Fee
from .selectors import group_balance, group_requirements, holder_ledgers, renew_by

STATUSES = (
    Status.ACTIVE,
    Status.EXPIRING,
    Status.IN_GRACE,
    Status.LAPSED,
    Status.NOT_YET_VALID,
    Status.REVOKED,
)
# The reminder horizon's default, and a Scrum Alliance grace: every holder in such a grace is
# inside the widest window.
AT_RISK_DAYS = 90
EXPIRY_MONTHS = 12
CHUNK = 2000


def current_terms():
    """Each credential's latest term, of active holders; revoked credentials have none (they
    never expire, renew or lapse again)."""
    newer = Term.objects.filter(
        credential_id=OuterRef("credential_id"), sequence__gt=OuterRef("sequence")
    )
    return Term.objects.exclude(Exists(newer)).filter(
        credential__holder__is_active=True, credential__revoked_at__isnull=True
    )


@dataclass(frozen=True)
class StatusColumn:
    """A column of the status table: a status in words. The days after the end are one status
    with each issuer's own words for it, so they make a column per wording ("In grace",
    PMI's "Suspended")."""

    status: Status
    label: str


@dataclass(frozen=True)
class StatusTable:
    statuses: tuple[StatusColumn, ...]
    rows: list[tuple[str, list[int], int]]  # program code, count per column, total
    totals: list[int]
    total: int


def status_columns(programs: list[Program]) -> tuple[StatusColumn, ...]:
    """Active, Expiring, then the after-end wordings of the programs that have days after the
    end (at least "In grace"), Lapsed, Not yet valid."""
    after_end = sorted({p.after_end_label for p in programs if p.grace_days}) or [
        Status.IN_GRACE.label
    ]
    columns = []
    for status in STATUSES:
        labels = after_end if status == Status.IN_GRACE else [status.label]
        columns += [StatusColumn(status, label) for label in labels]
    return tuple(columns)


def status_counts(on: datetime.date) -> StatusTable:
    """How many credentials each program has in each status on a day, the days after the end
    in the issuer's words: one query a status."""
    programs = {p.code: p for p in Program.objects.order_by("code")}
    columns = status_columns(list(programs.values()))
    counts: dict[str, dict[StatusColumn, int]] = {code: {} for code in programs}
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
            column = StatusColumn(status, status_label(programs[code], status))
            counts[code][column] = count
    rows = [
        (code, [by_column.get(c, 0) for c in columns], sum(by_column.values()))
        for code, by_column in counts.items()
        if by_column
    ]
    totals = [sum(row[1][index] for row in rows) for index in range(len(columns))]
    return StatusTable(columns, rows, totals, sum(totals))


@dataclass(frozen=True)
class MonthCount:
    month: datetime.date  # the first day
    count: int


def expiry_window(
    on: datetime.date, months: int = EXPIRY_MONTHS
) -> tuple[datetime.date, datetime.date]:
    """The days the expiry chart counts: from `on` through the same date `months` later (a
    term of that length starting today would be valid through it)."""
    return on, add_months(on, months)


def expirations_by_month(on: datetime.date, months: int = EXPIRY_MONTHS) -> list[MonthCount]:
    """Credentials whose current term ends from `on` through `months` later (see
    `expiry_window`), per calendar month: the first and last months count only their days in
    that range; a term that ended earlier this month is not expiring, it is past. One query."""
    first, last = expiry_window(on, months)
    found = dict(
        current_terms()
        .filter(ends_on__gte=first, ends_on__lte=last)
        .annotate(month=TruncMonth("ends_on"))
        .values_list("month")
        .annotate(count=Count("pk"))
        .order_by()
    )
    found = {
        (month.date() if isinstance(month, datetime.datetime) else month): n
        for month, n in found.items()
    }
    start = first.replace(day=1)
    shown = (last.year - start.year) * 12 + last.month - start.month + 1
    return [
        MonthCount(add_months(start, index), found.get(add_months(start, index), 0))
        for index in range(shown)
    ]


@dataclass(frozen=True)
class OnTrack:
    on_track: int
    holders: int

    @property
    def percent(self) -> int:
        return round(self.on_track * 100 / self.holders) if self.holders else 100


def holders_on_track(on: datetime.date) -> OnTrack:
    """Holders whose every running renewal (a credential, or Scrum Alliance credentials
    renewing together) has at least the units its term's elapsed share asks for: 30 SEU due,
    half the term gone, 15 counted. Units are counted by the exact renewal rules (window, daily
    cap, categories, a course never renewing the credential it earned). A fixed number of
    queries per 2,000 holders; the page caches the figure for a few minutes."""
    holder_ids = sorted(
        set(
            current_terms()
            .filter(starts_on__lte=on, ends_on__gte=on)
            .values_list("credential__holder_id", flat=True)
        )
    )
    on_track = holders = 0
    for start in range(0, len(holder_ids), CHUNK):
        for ledger in holder_ledgers(holder_ids[start : start + CHUNK]).values():
            paces = [
                _on_pace(group, ledger, on)
                for group in ledger.groups
                if group.ends_on is not None and group.ends_on >= on
            ]
            paces = [pace for pace in paces if pace is not None]
            if paces:
                holders += 1
                on_track += all(paces)
    return OnTrack(on_track=on_track, holders=holders)


def _on_pace(group, ledger, on: datetime.date) -> bool | None:
    term = credential_current_term(group.top)
    if term.starts_on > on:
        return None
    balance = group_balance(group, ledger, on)
    if balance is None or not balance.required:
        return None
    length = max((group.ends_on - term.starts_on).days, 1)
    elapsed = Decimal((on - term.starts_on).days) / Decimal(length)
    return balance.counted >= balance.required * elapsed


@dataclass(frozen=True)
class AtRisk:
    """A credential (or group renewing together) that lapses soon with units or the fee
    missing: ending soon, or already ended and in its grace (PMI: suspension)."""

    holder_id: int
    holder_name: str
    email: str
    label: str
    program_codes: tuple[str, ...]
    status: str  # in the issuer's words: "Expiring", "In grace", "Suspended"
    ends_on: datetime.date
    renew_by: datetime.date  # the last day before it lapses (see `selectors.renew_by`)
    days_left: int  # days from the day to `renew_by`
    units_counted: Decimal
    units_required: Decimal
    unit_name: str
    fee_status: str
    missing: tuple[str, ...]  # "units", "fee"
    credential_id: int

    @property
    def units_missing(self) -> Decimal:
        return max(self.units_required - self.units_counted, Decimal(0))


def lapsing_terms(on: datetime.date, last: datetime.date):
    """Current terms whose credential lapses from `on` through `last`: ending in that range,
    or already ended with the program's grace (or suspension) ending in it. The grace differs
    by program, so the condition is a union over the tens of programs that have one."""
    condition = Q(ends_on__gte=on, ends_on__lte=last)
    for program_id, grace_days in Program.objects.filter(grace_days__gt=0).values_list(
        "pk", "grace_days"
    ):
        grace = datetime.timedelta(days=grace_days)
        condition |= Q(
            credential__program_id=program_id,
            ends_on__lt=on,
            ends_on__gte=on - grace,
            ends_on__lte=last - grace,
        )
    return current_terms().filter(condition)


def at_risk(
    on: datetime.date,
    *,
    within_days: int = AT_RISK_DAYS,
    program: str = "",
    missing: str = "",
) -> list[AtRisk]:
    """Renewals that lapse within `within_days` (at most 90) and lack units or the fee, by the
    exact renewal rules: those ending soon and those past their end in a grace or suspension,
    fewest days to lapse first. Filter by program code or by what is missing ("units" or
    "fee"). A fixed number of queries per 2,000 holders."""
    within_days = max(0, min(within_days, AT_RISK_DAYS))
    last = on + datetime.timedelta(days=within_days)
    soon = lapsing_terms(on, last)
    if program:
        # By holder: the term that lapses may be the group's top, of another program.
        soon = soon.filter(
            credential__holder_id__in=Credential.objects.filter(program__code=program).values(
                "holder_id"
            )
        )
    holder_ids = sorted(set(soon.values_list("credential__holder_id", flat=True)))
    found = []
    for start in range(0, len(holder_ids), CHUNK):
        ledgers = holder_ledgers(holder_ids[start : start + CHUNK])
        for ledger in ledgers.values():
            for group in ledger.groups:
                deadline = renew_by(group, on)
                if deadline is None or not on <= deadline <= last:
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
                        status=status_label(group.top.program, credential_status(group.top, on)),
                        ends_on=group.ends_on,
                        renew_by=deadline,
                        days_left=(deadline - on).days,
                        units_counted=requirements.balance.counted if requirements.balance else 0,
                        units_required=requirements.balance.required if requirements.balance else 0,
                        unit_name=group.unit_name,
                        fee_status=requirements.fee_status,
                        missing=lacking,
                        credential_id=group.top.pk,
                    )
                )
    found.sort(key=lambda row: (row.days_left, row.email, row.label))
    return found


FEE_LABELS = {
    "not_required": _("not required"),
    Fee.Status.DUE: _("due"),
    Fee.Status.SUBMITTED: _("paid, to confirm"),
    Fee.Status.PAID: _("paid"),
    Fee.Status.WAIVED: _("waived"),
}


def fee_label(status: str) -> str:
    """A fee status in a staff table or export, in words (in the active language)."""
    return str(FEE_LABELS.get(status, status))
