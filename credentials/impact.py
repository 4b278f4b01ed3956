"""What adding or verifying a credential would do to the holder's other credentials, before it
happens: Scrum Alliance credentials renew together, so a new one moves the others' renewal
date, raises the units they need together and can leave older activities outside the window.

The figures are the ledger's (units counted are its business), so this app asks for them with a
signal that the ledger answers (`seu_ledger.receivers`), and this app never imports the ledger.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.dispatch import Signal

from .models import Credential, Program, User

# Sent with holder, program, issued_on (a claim not made yet) or credential (an unverified
# claim staff are about to verify); a receiver returns an `Impact`.
impact_requested = Signal()


@dataclass(frozen=True)
class StopsCounting:
    """An activity that counts now and would count less (or not at all) afterwards."""

    activity_date: datetime.date
    title: str
    units_before: Decimal
    units_after: Decimal


@dataclass(frozen=True)
class GroupChange:
    """One renewal group of the holder, before and after."""

    label_before: str
    label_after: str
    ends_before: datetime.date | None
    ends_after: datetime.date | None
    required_before: Decimal
    required_after: Decimal
    counted_before: Decimal
    counted_after: Decimal
    unit_name: str
    stops_counting: tuple[StopsCounting, ...] = ()

    @property
    def months_moved(self) -> int:
        """Whole months the renewal date moves (negative: earlier)."""
        if self.ends_before is None or self.ends_after is None:
            return 0
        months = (self.ends_after.year - self.ends_before.year) * 12
        return months + self.ends_after.month - self.ends_before.month


@dataclass(frozen=True)
class Impact:
    """Every group of the holder that would change; empty when nothing else changes."""

    changes: list[GroupChange] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.changes)


def credential_impact(
    *,
    holder: User,
    program: Program | None = None,
    issued_on: datetime.date | None = None,
    credential: Credential | None = None,
) -> Impact:
    """What claiming `program` from `issued_on` (and staff verifying it), or verifying the
    unverified `credential`, would change in the holder's other renewals. Writes nothing."""
    for _receiver, response in impact_requested.send(
        sender=Credential,
        holder=holder,
        program=program,
        issued_on=issued_on,
        credential=credential,
    ):
        if isinstance(response, Impact):
            return response
    return Impact()
