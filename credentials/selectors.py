"""Reads about credentials: status on a day, valid-through dates, renewal groups."""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from axes.models import AccessFailureLog
from django.conf import settings
from django.core import signing
from django.db import models
from django.db.models import Max, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.http import urlsafe_base64_decode
from django.utils.translation import gettext_lazy as _

from cspo_tracker import zones
from cspo_tracker.bulk import many

from .identity import email_or_none, email_throttle_key
from .models import Credential, EmailAddress, Membership, Program, Term, User


class Status(models.TextChoices):
    ACTIVE = "active", _("Active")
    EXPIRING = "expiring", _("Expiring")
    IN_GRACE = "in_grace", _("In grace")
    LAPSED = "lapsed", _("Lapsed")
    NOT_YET_VALID = "not_yet_valid", _("Not yet valid")
    REVOKED = "revoked", _("Revoked")


def today() -> datetime.date:
    """The current date in the site's time zone (settings.TIME_ZONE), whoever is reading: the
    day staff reports, imports and the ledger's "not in the future" rule go by. Whether a
    credential is valid goes by its issuer's calendar instead (`issuer_today`)."""
    return zones.local_date(settings.TIME_ZONE)


def reader_today() -> datetime.date:
    """The current date in the active time zone: a signed-in holder's own zone on their pages
    (cspo_tracker.locale), the site's elsewhere. What "not in the future" means for an
    activity a holder logs: in Kiritimati, today there, a day ahead of the server."""
    return timezone.localdate()


def issuer_today(program: Program, at: datetime.datetime | None = None) -> datetime.date:
    """The date in the program's issuer's time zone (Program.time_zone) at an instant (now by
    default): the day on which its credentials' validity is decided. A term valid through
    14 May stays valid until midnight at the end of 14 May there (decision record 0018)."""
    return zones.local_date(program.time_zone, at)


def status_for_dates(
    *,
    program: Program,
    first_starts_on: datetime.date,
    valid_through: datetime.date | None,
    on: datetime.date,
) -> Status:
    """The status rule on plain values: lifetime, not yet valid, active, expiring, grace, lapsed."""
    if on < first_starts_on:
        return Status.NOT_YET_VALID
    if program.is_lifetime or valid_through is None:
        return Status.ACTIVE
    days_left = (valid_through - on).days
    if days_left < 0:
        return Status.IN_GRACE if -days_left <= program.grace_days else Status.LAPSED
    if days_left <= program.reminder_horizon_days:
        return Status.EXPIRING
    return Status.ACTIVE


def credential_terms(credential: Credential) -> list[Term]:
    """Terms in order, using a prefetch when the caller made one."""
    return sorted(credential.terms.all(), key=lambda term: term.sequence)


def credential_current_term(credential: Credential) -> Term:
    """The latest term: the one a renewal would close."""
    return credential_terms(credential)[-1]


def credential_valid_through(credential: Credential) -> datetime.date | None:
    """Last day the credential is valid (None for lifetime)."""
    return credential_current_term(credential).ends_on


def credential_status(credential: Credential, on: datetime.date | None = None) -> Status:
    """Status of a credential on a day (today by default). Revoked by staff, it is revoked
    from then on, whatever its dates say."""
    if credential.revoked_at is not None:
        return Status.REVOKED
    terms = credential_terms(credential)
    return status_for_dates(
        program=credential.program,
        first_starts_on=terms[0].starts_on,
        valid_through=terms[-1].ends_on,
        on=on or issuer_today(credential.program),
    )


def status_label(program: Program, status: Status) -> str:
    """The status in words (in the current language), in the issuer's own term for the days
    after the end ("In grace", PMI's "Suspended": data, as staff wrote it)."""
    if status == Status.IN_GRACE:
        return program.after_end_label
    return str(Status(status).label)


def status_is_valid(program: Program, status: Status) -> bool:
    """Whether a credential in this status counts as valid: active or expiring, or after its
    end where the program says so (Scrum Alliance's grace yes, PMI's suspension no)."""
    if status == Status.IN_GRACE:
        return program.valid_after_end
    return status in (Status.ACTIVE, Status.EXPIRING)


def grace_ends_on(program: Program, valid_through: datetime.date | None) -> datetime.date | None:
    """The last day of the program's grace period (PMI: suspension) after a term that ends on
    `valid_through`, and so the last day to renew before the credential lapses: the end date
    itself for a program without one. None for a credential that never ends."""
    if valid_through is None:
        return None
    return valid_through + datetime.timedelta(days=program.grace_days)


def credential_status_label(credential: Credential, on: datetime.date | None = None) -> str:
    return status_label(credential.program, credential_status(credential, on))


def credential_is_valid(credential: Credential, on: datetime.date | None = None) -> bool:
    return status_is_valid(credential.program, credential_status(credential, on))


def credential_days_left(credential: Credential, on: datetime.date | None = None) -> int | None:
    """Days from `on` to the valid-through date (negative once past it; None for lifetime)."""
    valid_through = credential_valid_through(credential)
    if valid_through is None:
        return None
    return (valid_through - (on or issuer_today(credential.program))).days


def credentials_with_valid_through() -> QuerySet[Credential]:
    """Credentials annotated with `valid_through` (the latest term end) and `first_starts_on`."""
    return Credential.objects.annotate(
        valid_through=Max("terms__ends_on"), first_starts_on=models.Min("terms__starts_on")
    )


def status_condition(status: Status, on: datetime.date) -> Q:
    """A filter on `credentials_with_valid_through()` matching one status on a day, in SQL.

    Horizon and grace differ by program, so the condition is a union over programs; there are
    tens of programs, not thousands.
    """
    if status == Status.REVOKED:
        return Q(revoked_at__isnull=False)
    if status == Status.NOT_YET_VALID:
        return Q(first_starts_on__gt=on, revoked_at__isnull=True)
    started = Q(first_starts_on__lte=on, revoked_at__isnull=True)
    condition = Q(valid_through__isnull=True) if status == Status.ACTIVE else Q(pk__in=[])
    for program in Program.objects.only("pk", "grace_days", "reminder_horizon_days"):
        horizon_end = on + datetime.timedelta(days=program.reminder_horizon_days)
        grace_start = on - datetime.timedelta(days=program.grace_days)
        by_status = {
            Status.ACTIVE: Q(valid_through__gt=horizon_end),
            Status.EXPIRING: Q(valid_through__gte=on, valid_through__lte=horizon_end),
            Status.IN_GRACE: Q(valid_through__lt=on, valid_through__gte=grace_start),
            Status.LAPSED: Q(valid_through__lt=grace_start),
        }
        condition |= Q(program_id=program.pk) & by_status[status]
    return started & condition


def credentials_in_status(status: Status, on: datetime.date | None = None) -> QuerySet[Credential]:
    """Every credential that has `status` on a day, as one query."""
    return credentials_with_valid_through().filter(status_condition(status, on or today()))


@dataclass(frozen=True)
class RenewalGroup:
    """The credentials that renew together, and the fee that renewal costs.

    For an issuer with combined renewal (Scrum Alliance) this is every credential of the holder
    from that issuer whose current term ends on the same day; elsewhere it is one credential.
    The units it needs are the ledger's business (`seu_ledger.selectors.counting_rules`).
    """

    credentials: tuple[Credential, ...]
    ends_on: datetime.date | None
    top: Credential
    fee_amount: Decimal | None
    fee_required: bool
    currency: str

    @property
    def combined(self) -> bool:
        """Renews under the issuer's combined rules (one fee for the holder's group). An
        unverified claim stands alone until staff verify it, with nothing shared."""
        return self.top.program.issuer.combined_renewal and all(
            credential.verified for credential in self.credentials
        )

    @property
    def programs(self) -> list[Program]:
        return [credential.program for credential in self.credentials]

    @property
    def unit_name(self) -> str:
        return self.top.program.unit_name

    @property
    def label(self) -> str:
        return " + ".join(program.code for program in self.programs)


def credential_rank(credential: Credential) -> tuple:
    """Higher levels first, then by code: the top credential of a group or a track."""
    program = credential.program
    return (program.level, program.code)


def track_tops(credentials: list[Credential]) -> list[Credential]:
    """The highest credential of each track among these (lower ones renew with it), highest
    first."""
    tops_by_track: dict[str, Credential] = {}
    for credential in credentials:
        track = credential.program.track or credential.program.code
        current = tops_by_track.get(track)
        if current is None or credential_rank(credential) > credential_rank(current):
            tops_by_track[track] = credential
    return sorted(tops_by_track.values(), key=credential_rank, reverse=True)


def program_fee_for(program: Program, memberships: list[Membership]) -> Decimal | None:
    """The renewal fee a holder pays: the member fee where they are a paying member."""
    if program.member_fee_amount is not None and any(
        m.issuer_id == program.issuer_id and m.is_paying_member for m in memberships
    ):
        return program.member_fee_amount
    return program.fee_amount


def holder_credentials(holder_id: int) -> QuerySet[Credential]:
    """A holder's credentials with program, issuer and terms loaded (three queries)."""
    return holders_credentials([holder_id])


def holders_credentials(holder_ids: list[int]) -> QuerySet[Credential]:
    """Several holders' credentials with program, issuer, terms and the course that issued
    each loaded (two queries)."""
    return (
        Credential.objects.filter(holder_id__in=holder_ids)
        .select_related("holder", "program__issuer", "source_course")
        # Terms in sequence, without Term's default ordering by credential (which orders by
        # the credential's holder and program: three joins for nothing).
        .prefetch_related(Prefetch("terms", queryset=Term.objects.order_by("sequence")))
        .order_by("program__issuer__name", "-program__level", "program__code")
    )


def renewal_groups_of(
    credentials: list[Credential], memberships: list[Membership]
) -> list[RenewalGroup]:
    """Partition one holder's credentials into the groups that renew together.

    For an issuer with combined renewal, verified credentials whose current terms end on the
    same day form one group (fee: the top level's); every other credential is a group of its
    own. Needs no queries beyond what `holder_credentials` loads.
    """
    buckets: dict[tuple, list[Credential]] = {}
    for credential in credentials:
        program = credential.program
        ends_on = credential_valid_through(credential)
        if program.issuer.combined_renewal and ends_on is not None and credential.verified:
            key = ("combined", program.issuer_id, ends_on)
        else:
            key = ("single", credential.pk)
        buckets.setdefault(key, []).append(credential)
    groups = []
    for members in buckets.values():
        members.sort(key=credential_rank, reverse=True)
        top = members[0]
        groups.append(
            RenewalGroup(
                credentials=tuple(members),
                ends_on=credential_valid_through(top),
                top=top,
                fee_amount=program_fee_for(top.program, memberships),
                fee_required=top.program.fee_required,
                currency=top.program.currency,
            )
        )
    return groups


def holder_memberships(holder_id: int) -> list[Membership]:
    return list(Membership.objects.filter(holder_id=holder_id))


def renewal_group(credential: Credential) -> RenewalGroup:
    """The credentials that renew together with this one, the units they need and the fee."""
    credentials = list(holder_credentials(credential.holder_id))
    for group in renewal_groups_of(credentials, holder_memberships(credential.holder_id)):
        if any(member.pk == credential.pk for member in group.credentials):
            return group
    raise Credential.DoesNotExist(f"credential {credential.pk} not found")


# --- Accounts -------------------------------------------------------------------------------


def user_from_link(*, uidb64: str, token: str, tokens) -> User | None:
    """The user an emailed account link was made for, if the link is still valid; None
    otherwise (wrong purpose, used, expired, or for an account that changed since)."""
    try:
        user = User.objects.get(pk=urlsafe_base64_decode(uidb64).decode())
    except (TypeError, ValueError, OverflowError, User.DoesNotExist):
        return None
    return user if tokens.check_token(user, token) else None


def accounts_for_addresses(addresses, *, only: Sequence[str] = ()) -> dict[str, User]:
    """The account each canonical address belongs to: the account with it as a confirmed
    secondary address, or the account that signs in with it (an account merged into another
    answers with that other one). Unconfirmed secondary addresses find nothing. Rosters,
    sign-in, sign-up and password links all look people up here; two or three queries.
    `only` names the User fields to load (any other is loaded when read, one query each),
    for a caller looking up thousands of addresses (a roster) that reads a few fields."""
    addresses = {address for address in addresses if address}
    if not addresses:
        return {}
    fields = {*only, "email", "merged_into"} if only else set()
    secondary = EmailAddress.objects.filter(
        address__in=many(addresses, of="text"), confirmed_at__isnull=False
    ).select_related("user")
    if fields:
        secondary = secondary.only("address", *(f"user__{name}" for name in fields))
    found = {row.address: row.user for row in secondary}
    rest = addresses - found.keys()
    if rest:
        users = User.objects.only(*fields) if fields else User.objects.all()
        primaries = list(users.filter(email__in=many(rest, of="text")))
        into = users.in_bulk({u.merged_into_id for u in primaries if u.merged_into_id})
        for user in primaries:
            found[user.email] = into.get(user.merged_into_id, user)
    return found


def account_for_address(address: str | None) -> User | None:
    """The account an address typed any way belongs to (see `accounts_for_addresses`); None
    for nobody's address or one canonical_email refuses."""
    canonical = email_or_none(address)
    if canonical is None:
        return None
    return accounts_for_addresses([canonical]).get(canonical)


def sign_in_throttle_key(value: str | None) -> str:
    """The key failed sign-ins are counted under: per account, so a confirmed secondary
    address counts under its account's sign-in address (guesses spread over the addresses of
    one account share one counter); any other spelling as `email_throttle_key` has it."""
    key = email_throttle_key(value)
    if "@" not in key:
        return key
    primary = (
        EmailAddress.objects.filter(address=key, confirmed_at__isnull=False)
        .values_list("user__email", flat=True)
        .first()
    )
    return email_throttle_key(primary) if primary else key


def address_pending(*, token: str, salt: str) -> EmailAddress | None:
    """The secondary address a confirmation link was sent for, while it still waits for its
    confirmation and its account is not deactivated; None for a damaged, expired, spent or
    removed one."""
    try:
        data = signing.loads(token, salt=salt, max_age=settings.PASSWORD_RESET_TIMEOUT)
    except signing.BadSignature:
        return None
    return (
        EmailAddress.objects.select_related("user")
        .filter(
            pk=data.get("address_id"),
            user_id=data.get("user"),
            address=data.get("address"),
            confirmed_at__isnull=True,
        )
        .exclude(user__state=User.State.DEACTIVATED)
        .first()
    )


def password_reset_users(email: str) -> list:
    """The account a password link may go to for `email` (typed any way, or one of the
    account's confirmed secondary addresses: the link still goes to the sign-in address): a
    pending, invited or active one, whose owner proves the mailbox by following the link.
    Deactivated accounts get none. An address canonical_email refuses finds nobody."""
    user = account_for_address(email)
    states = [User.State.PENDING, User.State.INVITED, User.State.ACTIVE]
    return [user] if user is not None and user.state in states else []


def email_change_pending(*, token: str, salt: str):
    """The account an address-change link (or its cancel link) is for, while the change it
    names is still the one waiting and the account is not deactivated; None for a damaged,
    expired, replaced or spent link."""
    try:
        data = signing.loads(token, salt=salt, max_age=settings.PASSWORD_RESET_TIMEOUT)
    except signing.BadSignature:
        return None
    user = User.objects.filter(pk=data.get("user")).first()
    if (
        user is None
        or user.state == User.State.DEACTIVATED
        or user.email != data.get("from")
        or not user.pending_email
        or user.pending_email != data.get("to")
    ):
        return None
    return user


def sign_in_ceiling_reached(key: str, *, now: datetime.datetime | None = None) -> bool:
    """Whether an address (its throttle key) failed to sign in SIGN_IN_ADDRESS_CEILING times
    within SIGN_IN_ADDRESS_WINDOW from any clients: the ceiling that stops guessing spread over
    many client addresses, without pausing everyone behind one office address. Attempts
    refused while paused do not count, so one client cannot pause an address for everyone."""
    since = (now or timezone.now()) - settings.SIGN_IN_ADDRESS_WINDOW
    failures = AccessFailureLog.objects.filter(
        username=key, attempt_time__gte=since, locked_out=False
    )
    return failures.count() >= settings.SIGN_IN_ADDRESS_CEILING


# Sends the sweep tries before leaving a failing invitation to one try a day.
INVITATION_SWEEP_ATTEMPTS = 20


def invitations_waiting(now: datetime.datetime | None = None) -> list[int]:
    """Invitations owed and not sent whose job should have sent them by now: free and asked
    for longer ago than a claim lasts (the job was lost), or claimed past CLAIM_EXPIRES (the
    worker died). After INVITATION_SWEEP_ATTEMPTS failed sends (a mail server refusing for
    hours), once a day."""
    from cspo_tracker.claims import stale_before

    from .models import Invitation

    now = now or timezone.now()
    stale = stale_before(now)
    lost = Q(claim_token="", requested_at__lt=stale) | Q(claimed_at__lt=stale)
    due = Q(attempts__lt=INVITATION_SWEEP_ATTEMPTS) | Q(
        claimed_at__lt=now - datetime.timedelta(days=1)
    )
    return list(
        Invitation.objects.filter(lost, due, sent_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@dataclass(frozen=True)
class EarnedCredential:
    """A credential an invitation names: what the course earned, and until when it is valid."""

    program_name: str
    program_code: str
    course_title: str
    trainer: str
    issued_on: datetime.date
    valid_until: datetime.date | None  # None: it does not expire


def invitation_credentials(holder_id: int) -> list[EarnedCredential]:
    """The holder's credentials, newest first, with the course that earned each (for the
    invitation email: "your CSPO from the course with Dana Trainer is valid until...")."""
    credentials = (
        Credential.objects.filter(holder_id=holder_id)
        .select_related("program", "source_course")
        .prefetch_related("terms")
        .order_by("-issued_on", "program__code")
    )
    earned = []
    for credential in credentials:
        current = max(credential.terms.all(), key=lambda term: term.sequence, default=None)
        course = credential.source_course
        earned.append(
            EarnedCredential(
                program_name=credential.program.name,
                program_code=credential.program.code,
                course_title=course.title if course else "",
                trainer=course.trainer if course else "",
                issued_on=credential.issued_on,
                valid_until=current.ends_on if current else None,
            )
        )
    return earned


def invitation_courses(holder_id: int) -> list[dict]:
    """The courses the holder attended, newest first (for an invitation naming no credential:
    "your trainer recorded your attendance at ...")."""
    from .models import Attendance

    return [
        {
            "title": attendance.course.title or attendance.course.code,
            "trainer": attendance.course.trainer,
            "ended_on": attendance.course.end_date,
            "program": attendance.course.program.code,
        }
        for attendance in Attendance.objects.filter(holder_id=holder_id)
        .select_related("course__program")
        .order_by("-course__end_date")[:5]
    ]
