"""What waits for a staff decision, as lists a page shows, pages through and exports: claims to
verify, fee receipts to confirm, holders in grace or suspension, roster imports checked and
waiting, reminder emails that failed. Each list is a query (bounded cost per page) filtered
the same way: by program and by a holder's name or address."""

import datetime
from dataclasses import dataclass

from django.db.models import F, Q, QuerySet

from credentials.models import Credential, Program, RosterImport
from credentials.selectors import Status, credentials_in_status, today

from .models import Fee, Reminder


@dataclass(frozen=True)
class QueueFilter:
    """Program code ("" for all) and words to find in a holder's name or address."""

    program: str = ""
    search: str = ""

    def holders(self, prefix: str) -> Q:
        """The search as a condition on the holder reached through `prefix` ("holder__")."""
        condition = Q()
        for word in self.search.split():
            condition &= (
                Q(**{f"{prefix}email__icontains": word})
                | Q(**{f"{prefix}first_name__icontains": word})
                | Q(**{f"{prefix}last_name__icontains": word})
            )
        return condition


def claims_to_verify(filters: QueueFilter) -> QuerySet[Credential]:
    """Credentials holders added themselves and staff have not verified, oldest first."""
    claims = (
        Credential.objects.filter(verified=False)
        .filter(filters.holders("holder__"))
        .select_related("holder", "program__issuer")
        .order_by("created_at", "pk")
    )
    if filters.program:
        claims = claims.filter(program__code=filters.program)
    return claims


def receipts_to_confirm(filters: QueueFilter) -> QuerySet[Fee]:
    """Fees a holder says they paid (with the issuer's receipt reference), oldest first."""
    fees = (
        Fee.objects.filter(status=Fee.Status.SUBMITTED)
        .filter(filters.holders("holder__"))
        .select_related("holder", "issuer", "credential__program")
        .order_by("period_ends_on", "pk")
    )
    if filters.program:
        fees = fees.filter(
            Q(credential__program__code=filters.program)
            | Q(
                credential__isnull=True,
                issuer__programs__code=filters.program,
                holder__credentials__program__code=filters.program,
            )
        ).distinct()
    return fees


def holders_after_end(filters: QueueFilter, on: datetime.date | None = None):
    """Credentials past their end date and still renewable: in Scrum Alliance's grace or PMI's
    suspension, the fewest days to lapse first. Each carries `lapses_on` (the last day)."""
    on = on or today()
    credentials = (
        credentials_in_status(Status.IN_GRACE, on)
        .filter(verified=True)
        .filter(filters.holders("holder__"))
        .select_related("holder", "program__issuer")
    )
    if filters.program:
        credentials = credentials.filter(program__code=filters.program)
    rows = list(credentials)
    for credential in rows:
        credential.lapses_on = credential.valid_through + datetime.timedelta(
            days=credential.program.grace_days
        )
        credential.days_to_lapse = (credential.lapses_on - on).days
    rows.sort(key=lambda c: (c.days_to_lapse, c.holder.email, c.program.code))
    return rows


def imports_waiting(filters: QueueFilter) -> QuerySet[RosterImport]:
    """Roster uploads checked and waiting for staff to confirm (or discard), oldest first."""
    imports = RosterImport.objects.filter(status=RosterImport.Status.VALIDATED).select_related(
        "uploaded_by"
    )
    if filters.search:
        imports = imports.filter(
            Q(original_name__icontains=filters.search) | filters.holders("uploaded_by__")
        )
    return imports.order_by("created_at", "pk")


def reminders_failed(filters: QueueFilter) -> QuerySet[Reminder]:
    """Reminder emails whose sending failed (they are retried; staff may send them at once)."""
    reminders = (
        Reminder.objects.filter(status=Reminder.Status.FAILED)
        .filter(filters.holders("holder__"))
        .select_related("holder", "term__credential__program")
        .order_by(F("attempts").desc(), "pk")
    )
    if filters.program:
        reminders = reminders.filter(term__credential__program__code=filters.program)
    return reminders


def queue_programs() -> list[str]:
    """Program codes for the filter."""
    return list(Program.objects.order_by("code").values_list("code", flat=True))
