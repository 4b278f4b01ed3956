"""Writes to the ledger: log, edit and void entries; fees; renewals."""

import datetime
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from credentials.dates import add_months, add_years
from credentials.impact import Impact
from credentials.models import Course, Credential, Term, User
from credentials.selectors import (
    credential_current_term,
    issuer_today,
    reader_today,
    renewal_group,
    today,
)
from cspo_tracker import formats

from .models import MAX_ENTRY_HOURS, Allocation, CarriedUnits, Category, Entry, Fee, Renewal
from .notices import fee_settled_notify, renewal_done_notify
from .selectors import fee_lookup, pick_fee, renewal_requirements, renewal_states
from .signals import credentials_renewed

QUARTER = Decimal("0.25")
ENTRY_IN_FUTURE = _("Date: {date} is in the future. Log an activity once it has taken place.")
ENTRY_TOO_OLD = _(
    "Date: {date} is more than 10 years ago; an activity that old cannot count toward any renewal."
)
ENTRY_NOT_QUARTERS = _(
    "Hours: counted in steps of 0.25 (a quarter of an hour), such as 1.25 or 1.5; {hours} is not."
)
ENTRY_NOT_POSITIVE = _("Hours must be more than zero.")
# Translators: {max} is a number of hours.
ENTRY_TOO_LONG = _("Hours: at most {max} in one activity; log a longer one as several.")
ENTRY_CONSUMED = _(
    # Translators: {credential} is a credential's code ("CSPO"), {date} the day it was renewed.
    "This entry was used by the renewal of {credential} on {date} and cannot change."
)
ENTRY_ALREADY_VOIDED = _("This entry is already voided.")
ENTRY_FROM_COURSE = _(
    "Course hours from {course} were recorded by your trainer's roster; ask staff to correct them."
)
VOID_REASON_REQUIRED = _("Say why the entry is voided.")
FEE_ALREADY_PAID = _("This fee is recorded as paid; it is not waived.")
FEE_ALREADY_USED = _("This fee paid for a renewal already; it cannot be waived now.")
WAIVE_REASON_REQUIRED = _("Say why the fee is waived.")
FEE_NOT_APPLICABLE = _("{program} has no renewal fee to record.")
REFERENCE_REQUIRED = _("Enter the receipt or transaction reference from the issuer.")
EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
EVIDENCE_SIGNATURES = {  # first bytes of the file -> extension we store it under
    b"%PDF-": "pdf",
    b"\x89PNG\r\n\x1a\n": "png",
    b"\xff\xd8\xff": "jpg",
}
EVIDENCE_TOO_BIG = _("Evidence files can be at most 10 MB; this one is {size:.1f} MB.")
EVIDENCE_WRONG_TYPE = _(
    "Evidence must be a PDF, PNG or JPEG file. This file's content is none of those, "
    "whatever its name says."
)
ALLOCATION_NOT_WHOLE = _(
    "The hours placed in {issuer} categories add up to {allocated}; the activity has {hours} "
    "hours. Place every hour, or leave {issuer} blank to count them all under one category."
)
ALLOCATION_NOT_QUARTERS = _("Hours in {category} must be more than zero, in steps of 0.25.")
ALLOCATION_TWICE = _("{category} is given twice.")
ALLOCATION_STALE = _(
    "This activity's hours are split across {issuer} categories; give the new split with the "
    "new hours."
)
ENTRY_FIELDS = (
    "activity_date",
    "category",
    "title",
    "provider",
    "hours",
    "description",
    "evidence",
)


def entry_check(entry: Entry, *, on: datetime.date | None = None) -> None:
    """Check an entry's values as logging or editing it would (date not in the future nor
    over 10 years before `on`, hours positive, at most MAX_ENTRY_HOURS, in quarters, and the
    model's own field rules). Raises ValidationError by field."""
    _validate_entry(entry, on=on or reader_today())


def entry_lock_reason(entry: Entry) -> str | None:
    """Why the entry cannot change any more (voided, or consumed by a renewal), or None."""
    if entry.voided_at is not None:
        return str(ENTRY_ALREADY_VOIDED)
    try:
        _refuse_if_consumed(entry)
    except ValidationError as error:
        return " ".join(error.messages)
    return None


def entry_earliest_date(on: datetime.date) -> datetime.date:
    """The earliest date an activity logged on `on` may have (10 years back)."""
    return add_years(on, -10)


def entry_rule_errors(
    *,
    activity_date: datetime.date | None = None,
    hours: Decimal | None = None,
    on: datetime.date | None = None,
) -> dict[str, list[str]]:
    """The rules on an activity's date and hours, by field, for whichever of them is given:
    the form checks them together with its own fields so every error shows at once."""
    on = on or reader_today()
    errors = {}
    if activity_date and activity_date > on:
        errors["activity_date"] = [ENTRY_IN_FUTURE.format(date=formats.day(activity_date))]
    elif activity_date and activity_date < entry_earliest_date(on):
        errors["activity_date"] = [ENTRY_TOO_OLD.format(date=formats.day(activity_date))]
    if hours is not None:
        hours = Decimal(hours)
        if hours <= 0:
            errors["hours"] = [str(ENTRY_NOT_POSITIVE)]
        elif hours > MAX_ENTRY_HOURS:
            errors["hours"] = [ENTRY_TOO_LONG.format(max=MAX_ENTRY_HOURS)]
        elif hours % QUARTER != 0:
            errors["hours"] = [ENTRY_NOT_QUARTERS.format(hours=f"{hours.normalize():f}")]
    return errors


def _validate_entry(entry: Entry, *, on: datetime.date) -> None:
    errors = entry_rule_errors(activity_date=entry.activity_date, hours=entry.hours, on=on)
    # A related row the caller passed as a loaded instance exists: asking the database again
    # (Django's check of each foreign key) costs a query per key on every save. A key given as
    # a bare id is still checked, and the database's foreign keys hold either way: a row
    # deleted meanwhile fails the save (an error page), not this check (a form error).
    loaded = [
        f.name
        for f in entry._meta.concrete_fields
        if f.is_relation and f.is_cached(entry) and getattr(f.get_cached_value(entry), "pk", None)
    ]
    try:
        # The check constraints are mirrored above with messages that name the field; the
        # database still enforces them.
        entry.full_clean(exclude=loaded, validate_constraints=False)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(m for m in messages if m not in errors.get(name, []))
    if errors:
        raise ValidationError(errors)


def evidence_check(upload) -> None:
    """Accept a PDF, PNG or JPEG of at most 10 MB, judged by its content, and give it a random
    name (the holder's file name is never used as a path)."""
    if upload.size > EVIDENCE_MAX_BYTES:
        raise ValidationError({"evidence": [EVIDENCE_TOO_BIG.format(size=upload.size / 2**20)]})
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    extension = next(
        (ext for sig, ext in EVIDENCE_SIGNATURES.items() if head.startswith(sig)), None
    )
    if extension is None:
        raise ValidationError({"evidence": [str(EVIDENCE_WRONG_TYPE)]})
    upload.name = f"{uuid.uuid4().hex}.{extension}"


EVIDENCE_KEPT_DIR = "evidence-pending"
EVIDENCE_KEPT_MAX_AGE = datetime.timedelta(days=1)
EVIDENCE_KEPT_SALT = "seu_ledger.evidence-kept"
EVIDENCE_KEPT_LOST = _(
    "Evidence: the file kept from your last try cannot be used (it is too old, or the page was "
    "changed); choose the file again."
)


@dataclass(frozen=True)
class KeptEvidence:
    """An evidence file stored while its form had other errors, for the holder's next try."""

    path: str
    name: str  # the holder's own file name, shown on the form, never used as a path
    token: str


def _evidence_storage():
    return Entry._meta.get_field("evidence").storage


def evidence_keep(*, holder_id: int, upload, name: str) -> KeptEvidence:
    """Store a checked evidence upload under a temporary name in the holder's folder and
    return it with a signed token naming the holder, for the form's hidden field. Browsers
    cannot refill a file input, so without this a file chosen on a try with errors is lost.
    Files left behind are removed by `evidence_kept_sweep`."""
    extension = upload.name.rsplit(".", 1)[-1]
    path = _evidence_storage().save(
        f"{EVIDENCE_KEPT_DIR}/{holder_id}/{uuid.uuid4().hex}.{extension}", upload
    )
    token = signing.dumps({"h": holder_id, "p": path, "n": name}, salt=EVIDENCE_KEPT_SALT)
    return KeptEvidence(path=path, name=name, token=token)


def evidence_kept(*, holder_id: int, token: str) -> KeptEvidence | None:
    """The file a token names, if the token is this holder's, intact, not older than
    EVIDENCE_KEPT_MAX_AGE and the file is still there; None otherwise."""
    try:
        data = signing.loads(
            token, salt=EVIDENCE_KEPT_SALT, max_age=EVIDENCE_KEPT_MAX_AGE.total_seconds()
        )
    except signing.BadSignature:  # expired tokens included
        return None
    if not isinstance(data, dict) or data.get("h") != holder_id:
        return None
    path = str(data.get("p", ""))
    if not path.startswith(f"{EVIDENCE_KEPT_DIR}/{holder_id}/") or ".." in path:
        return None
    if not _evidence_storage().exists(path):
        return None
    return KeptEvidence(path=path, name=str(data.get("n", "")), token=token)


def evidence_kept_file(kept: KeptEvidence) -> File:
    """The kept file, to pass as `evidence` to entry_log or entry_edit."""
    return File(_evidence_storage().open(kept.path, "rb"), name=kept.path.rsplit("/", 1)[-1])


def evidence_kept_discard(kept: KeptEvidence) -> None:
    _evidence_storage().delete(kept.path)


def evidence_kept_sweep(*, older_than: datetime.timedelta = EVIDENCE_KEPT_MAX_AGE) -> int:
    """Delete kept evidence files older than their tokens live (forms abandoned with errors).
    Returns how many were deleted."""
    storage = _evidence_storage()
    cutoff = timezone.now() - older_than
    deleted = 0
    try:
        folders, _ = storage.listdir(EVIDENCE_KEPT_DIR)
    except FileNotFoundError:
        return 0
    for folder in folders:
        for name in storage.listdir(f"{EVIDENCE_KEPT_DIR}/{folder}")[1]:
            path = f"{EVIDENCE_KEPT_DIR}/{folder}/{name}"
            if storage.get_modified_time(path) < cutoff:
                storage.delete(path)
                deleted += 1
    return deleted


def allocations_check(
    allocations: list[tuple[Category, Decimal]], hours: Decimal | None
) -> dict[int, list[tuple[Category, Decimal]]]:
    """Check how an activity's hours are placed in categories: each amount positive and in
    quarters, each category once, and for every issuer the amounts add up to the activity's
    hours (not checked while `hours` is None: the hours themselves are wrong). Returns them by
    issuer id. Raises ValidationError on the "allocations" field naming the category or
    issuer."""
    by_issuer: dict[int, list[tuple[Category, Decimal]]] = {}
    seen = set()
    for category, units in allocations:
        units = Decimal(units)
        if units <= 0 or units % QUARTER:
            raise ValidationError(
                {"allocations": [ALLOCATION_NOT_QUARTERS.format(category=category.name)]}
            )
        if category.pk in seen:
            raise ValidationError({"allocations": [ALLOCATION_TWICE.format(category=category)]})
        seen.add(category.pk)
        by_issuer.setdefault(category.issuer_id, []).append((category, units))
    for placed in by_issuer.values():
        allocated = sum((units for _, units in placed), Decimal(0))
        if hours is not None and allocated != Decimal(hours):
            raise ValidationError(
                {
                    "allocations": [
                        ALLOCATION_NOT_WHOLE.format(
                            issuer=placed[0][0].issuer.name,
                            allocated=f"{allocated.normalize():f}",
                            hours=f"{Decimal(hours).normalize():f}",
                        )
                    ]
                }
            )
    return by_issuer


def _allocations_replace(
    entry: Entry,
    by_issuer: dict[int, list[tuple[Category, Decimal]]],
    issuer_ids: list[int] | None = None,
):
    """Store the given issuers' allocations of the entry in place of what it had for them; the
    issuers in `issuer_ids` given none go back to the default (their mapped category)."""
    replaced = set(by_issuer) | set(issuer_ids or ())
    if not replaced:
        return
    for allocation in entry.allocations.filter(category__issuer_id__in=replaced):
        allocation.delete()  # one by one: the audit trail records each
    for placed in by_issuer.values():
        for category, units in placed:
            Allocation.objects.create(entry=entry, category=category, hours=units)


def _allocations_follow_hours(entry: Entry) -> None:
    """After the hours change: an issuer's allocation to one category takes the new hours; a
    split cannot be guessed and is refused."""
    stored: dict[int, list[Allocation]] = {}
    for allocation in entry.allocations.select_related("category__issuer"):
        stored.setdefault(allocation.category.issuer_id, []).append(allocation)
    for placed in stored.values():
        if sum((a.hours for a in placed), Decimal(0)) == entry.hours:
            continue
        if len(placed) > 1:
            raise ValidationError(
                {"allocations": [ALLOCATION_STALE.format(issuer=placed[0].category.issuer.name)]}
            )
        placed[0].hours = entry.hours
        placed[0].save(update_fields=["hours"])


def course_record_refusal(entry: Entry) -> str:
    """Why the holder cannot edit or void an entry of course hours, naming the course."""
    course = entry.source_course
    name = ""
    if course:
        name = course.title or gettext("{program} course {code}").format(
            program=course.program.code, code=course.code
        )
    return ENTRY_FROM_COURSE.format(course=name or gettext("your course"))


def _refuse_course_record(entry: Entry, corrected_by_staff: bool) -> None:
    if entry.is_course_record and not corrected_by_staff:
        raise ValidationError(course_record_refusal(entry))


def _refuse_if_consumed(entry: Entry) -> None:
    renewal = (
        Renewal.objects.filter(entries=entry)
        .select_related("closed_term__credential__program")
        .first()
    )
    if renewal:
        raise ValidationError(
            ENTRY_CONSUMED.format(
                credential=renewal.closed_term.credential.program.code,
                date=formats.day(renewal.renewed_on),
            )
        )


@transaction.atomic
def entry_log(
    *,
    holder: User,
    activity_date: datetime.date,
    category: Category,
    title: str,
    hours: Decimal,
    provider: str = "",
    description: str = "",
    evidence=None,
    source_course: Course | None = None,
    allocations: list[tuple[Category, Decimal]] | None = None,
) -> Entry:
    """Add an activity to a holder's ledger, with how its hours count for other issuers:
    `allocations` of (category, hours), adding up to the activity's hours for each issuer named
    (PMI: 3 hours Ways of Working and 5 Power Skills). Issuers not named count all its hours
    under its category or the one it maps to. Invalid input raises ValidationError by field."""
    entry = Entry(
        holder=holder,
        activity_date=activity_date,
        category=category,
        title=title,
        hours=hours,
        provider=provider,
        description=description,
        source_course=source_course,
    )
    if evidence:
        evidence_check(evidence)
        entry.evidence = evidence
    _validate_entry(entry, on=reader_today())
    by_issuer = allocations_check(allocations or [], hours)
    entry.save()
    _allocations_replace(entry, by_issuer)
    return entry


@transaction.atomic
def entry_edit(
    *,
    entry: Entry,
    allocations: list[tuple[Category, Decimal]] | None = None,
    allocation_issuer_ids: list[int] | None = None,
    corrected_by_staff: bool = False,
    **changes,
) -> Entry:
    """Change a live entry's fields, and with `allocations` how its hours count for the
    issuers named (those in `allocation_issuer_ids` given none go back to the default); a
    voided entry, or one a renewal used, cannot change, and course hours from a roster change
    only as a staff correction. `evidence=""` removes the evidence file. Raises
    ValidationError by field."""
    unknown = set(changes) - set(ENTRY_FIELDS)
    if unknown:
        raise TypeError(f"entry_edit() got unknown fields: {', '.join(sorted(unknown))}")
    entry = Entry.objects.select_for_update().get(pk=entry.pk)
    if entry.is_voided:
        raise ValidationError(ENTRY_ALREADY_VOIDED)
    _refuse_course_record(entry, corrected_by_staff)
    _refuse_if_consumed(entry)
    if changes.get("evidence"):
        evidence_check(changes["evidence"])
    for name, value in changes.items():
        setattr(entry, name, value)
    _validate_entry(entry, on=reader_today())
    by_issuer = allocations_check(allocations or [], entry.hours)
    entry.save()
    _allocations_replace(entry, by_issuer, allocation_issuer_ids)
    _allocations_follow_hours(entry)
    return entry


@transaction.atomic
def entry_void(*, entry: Entry, reason: str, corrected_by_staff: bool = False) -> Entry:
    """Void an entry with a reason: it stays in the history and stops counting. Course hours
    from a roster are voided only as a staff correction."""
    entry = Entry.objects.select_for_update().get(pk=entry.pk)
    if not (reason or "").strip():
        raise ValidationError({"void_reason": [str(VOID_REASON_REQUIRED)]})
    if entry.is_voided:
        raise ValidationError(ENTRY_ALREADY_VOIDED)
    _refuse_course_record(entry, corrected_by_staff)
    _refuse_if_consumed(entry)
    entry.voided_at = timezone.now()
    entry.void_reason = reason.strip()
    entry.save(update_fields=["voided_at", "void_reason", "updated_at"])
    return entry


def _fee_description(group) -> str:
    # Stored in the fee row (Fee.description): kept in English, as every stored text.
    return f"Renewal of {group.label} ending {formats.day(group.ends_on)}"


def _fee_for(credential: Credential) -> Fee:
    """The fee row for renewing the credential's group, created as due when first needed."""
    group = renewal_group(credential)
    program = group.top.program
    if group.ends_on is None or not group.fee_required:
        raise ValidationError(FEE_NOT_APPLICABLE.format(program=program.code))
    fee = pick_fee(group, list(fee_lookup(group).select_for_update()))
    if fee is None:
        fee = Fee.objects.create(
            holder_id=group.top.holder_id,
            issuer_id=program.issuer_id,
            credential=None if group.combined else group.top,
            period_ends_on=group.ends_on,
            description=_fee_description(group),
            amount=group.fee_amount,
            currency=group.currency,
        )
    elif fee.period_ends_on != group.ends_on:
        # Recorded before a new credential moved the renewal date: it pays for the new one.
        fee.period_ends_on = group.ends_on
        fee.description = _fee_description(group)
        fee.save(update_fields=["period_ends_on", "description"])
    return fee


@transaction.atomic
def fee_submit(*, credential: Credential, reference: str) -> Fee:
    """A holder says they paid the issuer, giving the receipt reference; staff confirm it."""
    if not (reference or "").strip():
        raise ValidationError({"reference": [str(REFERENCE_REQUIRED)]})
    fee = _fee_for(credential)
    if fee.is_settled:
        return fee
    fee.status = Fee.Status.SUBMITTED
    fee.reference = reference.strip()
    fee.save()
    return fee


@transaction.atomic
def fee_record(
    *,
    credential: Credential,
    recorded_by: User,
    reference: str = "",
    amount: Decimal | None = None,
) -> Fee:
    """Staff record (or confirm) the renewal fee as paid."""
    fee = _fee_for(credential)
    if amount is not None:
        if Decimal(amount) < 0:
            raise ValidationError({"amount": [gettext("The amount cannot be negative.")]})
        fee.amount = amount
    if fee.amount is None:
        raise ValidationError(
            {"amount": [gettext("Enter the amount paid: this program's fee is set by staff.")]}
        )
    was_paid = fee.status == Fee.Status.PAID
    fee.status = Fee.Status.PAID
    fee.reference = (reference or fee.reference).strip()
    fee.recorded_by = recorded_by
    fee.recorded_at = timezone.now()
    fee.save()
    if not was_paid:
        fee_settled_notify(fee=fee)
    return fee


@transaction.atomic
def fee_confirm(*, fee: Fee, recorded_by: User) -> Fee:
    """Staff confirm a fee (typically one a holder submitted with a receipt reference)."""
    fee = Fee.objects.select_for_update().get(pk=fee.pk)
    if fee.status == Fee.Status.WAIVED:
        return fee
    if fee.amount is None:
        raise ValidationError({"amount": [gettext("Enter the amount paid before confirming.")]})
    if fee.status == Fee.Status.PAID:
        return fee
    fee.status = Fee.Status.PAID
    fee.recorded_by = recorded_by
    fee.recorded_at = timezone.now()
    fee.save()
    fee_settled_notify(fee=fee)
    return fee


@transaction.atomic
def fee_waive(
    *,
    recorded_by: User,
    reason: str,
    credential: Credential | None = None,
    fee: Fee | None = None,
) -> Fee:
    """Staff waive the renewal fee of a credential's group (or a stored fee row), saying why."""
    if not (reason or "").strip():
        raise ValidationError({"note": [str(WAIVE_REASON_REQUIRED)]})
    if fee is not None:
        fee = Fee.objects.select_for_update().get(pk=fee.pk)
        if Renewal.objects.filter(fee=fee).exists():
            raise ValidationError(FEE_ALREADY_USED)
    else:
        fee = _fee_for(credential)
    if fee.status == Fee.Status.PAID:
        raise ValidationError(FEE_ALREADY_PAID)
    if fee.status == Fee.Status.WAIVED:
        return fee
    fee.status = Fee.Status.WAIVED
    fee.note = reason.strip()
    fee.recorded_by = recorded_by
    fee.recorded_at = timezone.now()
    fee.save()
    fee_settled_notify(fee=fee)
    return fee


@dataclass(frozen=True)
class RenewalOutcome:
    renewals: list[Renewal]
    created: bool

    @property
    def new_terms(self) -> list[Term]:
        return [renewal.new_term for renewal in self.renewals]


RENEW_REVOKED = _("{code} was revoked by staff: a revoked credential cannot be renewed.")


@transaction.atomic
def credential_renew(
    *,
    credential: Credential,
    term: Term | None = None,
    on: datetime.date | None = None,
    renewed_by: User | None = None,
) -> RenewalOutcome:
    """Renew the credential (with its group): next terms, fee and consumed entries, all or
    nothing. Renewing a term that is already renewed returns that renewal and changes nothing.
    Refused with a ValidationError naming what is missing. Without `on`, on the issuer's
    today (`issuer_today`): the last day there is still a day to renew on."""
    on = on or issuer_today(credential.program)
    # One renewal at a time per holder and issuer: lock their credentials first.
    list(
        Credential.objects.select_for_update()
        .filter(holder_id=credential.holder_id, program__issuer_id=credential.program.issuer_id)
        .values_list("pk", flat=True)
    )
    # ...and their live entries, so a void or an edit cannot slip in between reading the units
    # and consuming them (those services lock the entry, then see the renewal).
    list(
        Entry.objects.select_for_update()
        .filter(holder_id=credential.holder_id, voided_at__isnull=True)
        .values_list("pk", flat=True)
    )
    credential = (
        Credential.objects.select_related("program__issuer")
        .prefetch_related("terms")
        .get(pk=credential.pk)
    )
    term = term or credential_current_term(credential)
    if term.credential_id != credential.pk:
        raise ValidationError({"term": [gettext("That term belongs to another credential.")]})
    if credential.revoked_at is not None:
        raise ValidationError(RENEW_REVOKED.format(code=credential.program.code))
    done = Renewal.objects.filter(closed_term=term).select_related("new_term").first()
    if done:
        return RenewalOutcome(renewals=[done], created=False)

    requirements = renewal_requirements(credential, on=on)
    if not requirements.ready:
        raise ValidationError(requirements.reasons)
    group = requirements.group
    top = group.top.program
    balance = requirements.balance
    next_end = add_months(group.ends_on, top.validity_months)
    entry_ids = list(balance.entry_ids)
    renewals = []
    for member in group.credentials:
        current = credential_current_term(member)
        new_term = Term.objects.create(
            credential=member,
            sequence=current.sequence + 1,
            starts_on=current.ends_on,
            ends_on=next_end,
        )
        renewal = Renewal.objects.create(
            closed_term=current,
            new_term=new_term,
            fee=requirements.fee,
            units_counted=balance.counted - balance.carried_over,
            units_required=balance.required,
            renewed_on=on,
            renewed_by=renewed_by,
            rule_version=requirements.versions.get(member.pk),
        )
        renewal.entries.set(entry_ids)
        CarriedUnits.objects.bulk_create(
            CarriedUnits(renewal=renewal, entry_id=entry_id, category_id=category_id, units=units)
            for entry_id, by_category in balance.carried.items()
            for category_id, units in by_category.items()
        )
        renewals.append(renewal)
    renewal_done_notify(renewals=renewals)
    credentials_renewed.send(sender=Renewal, term_ids=[r.new_term_id for r in renewals])
    return RenewalOutcome(renewals=renewals, created=True)


class _WhatIf(Exception):
    """Raised to roll back a simulated change."""


def alignment_impact(
    *,
    holder: User,
    program=None,
    issued_on: datetime.date | None = None,
    credential: Credential | None = None,
    on: datetime.date | None = None,
) -> Impact:
    """What claiming `program` from `issued_on` and having it verified (or verifying the
    unverified `credential`) would change in the holder's other renewal groups: end date,
    units required and counted, and the activities that stop counting. Found by doing it with
    the real services inside a savepoint that is then rolled back, so the answer follows every
    rule those services follow; nothing is written (emails queued on commit are dropped with
    the savepoint). A claim the services would refuse has no impact (the form says why)."""
    from credentials.impact import GroupChange, Impact, StopsCounting
    from credentials.services import credential_claim, credential_verify

    on = on or today()
    before, rows = renewal_states(holder.pk, on)
    after: dict = {}
    new_id = None
    try:
        with transaction.atomic():
            if credential is None:
                credential = credential_claim(
                    holder=holder,
                    program=program,
                    issued_on=issued_on,
                    certificate_number="what-if",
                )
            new_id = credential.pk
            # A copy: the caller's object must not come back marked verified.
            credential_verify(credential=Credential.objects.get(pk=new_id), notify=False)
            after, _ = renewal_states(holder.pk, on)
            raise _WhatIf
    except _WhatIf:
        pass
    except ValidationError:
        return Impact()
    changes, seen = [], set()
    for credential_id, old in before.items():
        if credential_id == new_id or id(old) in seen:
            continue
        seen.add(id(old))
        new = after.get(credential_id)
        if new is None or (
            new.label == old.label
            and new.ends_on == old.ends_on
            and new.required == old.required
            and new.counted == old.counted
        ):
            continue
        stops = tuple(
            StopsCounting(
                activity_date=rows[entry_id].activity_date,
                title=rows[entry_id].title,
                units_before=units,
                units_after=new.counting.get(entry_id, Decimal(0)),
            )
            for entry_id, units in sorted(
                old.counting.items(), key=lambda item: rows[item[0]].activity_date
            )
            if new.counting.get(entry_id, Decimal(0)) < units
        )
        changes.append(
            GroupChange(
                label_before=old.label,
                label_after=new.label,
                ends_before=old.ends_on,
                ends_after=new.ends_on,
                required_before=old.required,
                required_after=new.required,
                counted_before=old.counted,
                counted_after=new.counted,
                unit_name=old.unit_name,
                stops_counting=stops,
            )
        )
    return Impact(changes=changes)
