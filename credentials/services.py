"""Writes for people and their credentials. Views, admin, tasks and commands call these."""

import datetime
import os
import secrets
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cspo_tracker import formats
from cspo_tracker.history import audit_context, history_record
from cspo_tracker.links import absolute_url
from cspo_tracker.locale import reading_as

from .accounts import account_email, licence_accept, user_merged_away
from .dates import add_months
from .identity import canonical_email
from .impact import credential_impact
from .merge import MERGE_ITSELF, MergePreview, holders_merge_preview, holders_merging
from .models import (
    Attendance,
    Course,
    Credential,
    EmailAddress,
    Membership,
    Program,
    Term,
    User,
)
from .selectors import credential_terms, today
from .signals import (
    attendances_recorded,
    credential_revocation_recorded,
    credential_revoked,
    credentials_issued,
)

ISSUED_IN_FUTURE = _("A credential cannot be issued on a future date.")
COMPLETED_WITHOUT_HOURS = _(
    # Translators: {attended} and {needed} are numbers of hours, {program} a certification's code.
    "Marked completed with {attended} hours attended; {program} needs at least {needed} hours."
)
NEGATIVE_HOURS = _("Hours attended cannot be negative.")


@transaction.atomic
def credential_issue(
    *,
    holder: User,
    program: Program,
    issued_on: datetime.date,
    source_course: Course | None = None,
    certificate_number: str = "",
    verified: bool = True,
) -> Credential:
    """Issue `program` to `holder` from `issued_on`; issuing again returns the first credential
    (and a course completion verifies one the holder had only claimed).

    The first term runs from the issue date for the program's validity. For an issuer with
    combined renewal, a verified credential aligns the holder's current ones of that issuer.
    """
    if issued_on > today():
        raise ValidationError({"issued_on": ISSUED_IN_FUTURE})
    credential, created = Credential.objects.get_or_create(
        holder=holder,
        program=program,
        defaults={
            "issued_on": issued_on,
            "source_course": source_course,
            "certificate_number": certificate_number,
            "verified": verified,
        },
    )
    if not created:
        if source_course is not None and credential.source_course_id is None:
            # A course completion proves a credential the holder had claimed.
            claimed = not credential.verified
            credential.source_course = source_course
            credential.verified = True
            credential.save(update_fields=["source_course", "verified"])
            if claimed:
                credentials_issued.send(sender=Credential, credential_ids=[credential.pk])
        return credential
    ends_on = None if program.is_lifetime else add_months(issued_on, program.validity_months)
    Term.objects.create(credential=credential, sequence=1, starts_on=issued_on, ends_on=ends_on)
    if verified and program.issuer.combined_renewal and ends_on is not None:
        renewal_dates_align(holder=holder, issuer_id=program.issuer_id)
    if verified:
        credentials_issued.send(sender=Credential, credential_ids=[credential.pk])
    return credential


def renewal_dates_align(*, holder: User, issuer_id: int) -> datetime.date | None:
    """Move the current term of each of the holder's current, verified credentials of the
    issuer to the latest end date among them, so they renew on one day. Credentials already
    past their end (in grace or lapsed) and unverified claims are left alone."""
    credentials = (
        Credential.objects.filter(holder=holder, program__issuer_id=issuer_id, verified=True)
        .select_related("program")
        .select_for_update(of=("self",))
        .prefetch_related("terms")
    )
    on = today()
    live_terms = [
        term
        for term in (credential_terms(credential)[-1] for credential in credentials)
        if term.ends_on is not None and term.ends_on >= on
    ]
    if not live_terms:
        return None
    target = max(term.ends_on for term in live_terms)
    for term in live_terms:
        if term.ends_on < target:
            term.aligned_from = term.aligned_from or term.ends_on
            term.ends_on = target
            term.save(update_fields=["ends_on", "aligned_from"])
    return target


@transaction.atomic
def attendance_record(
    *, holder: User, course: Course, hours_attended: Decimal, completed: bool
) -> tuple[Attendance, Credential | None]:
    """Record (or correct) a holder's attendance. The ledger logs the hours as Learning units;
    completion with enough hours issues the credential from the course end date. Completion
    with too few hours is refused, and nothing is written."""
    hours_attended = Decimal(hours_attended)
    if hours_attended < 0:
        raise ValidationError({"hours_attended": NEGATIVE_HOURS})
    needed = course.program.min_course_hours
    if completed and needed is not None and hours_attended < needed:
        raise ValidationError(
            {
                "hours_attended": COMPLETED_WITHOUT_HOURS.format(
                    attended=hours_attended, program=course.program.code, needed=needed
                )
            }
        )
    attendance, _ = Attendance.objects.update_or_create(
        holder=holder,
        course=course,
        defaults={"hours_attended": hours_attended, "completed": completed},
    )
    attendances_recorded.send(
        sender=Attendance, attendances=[(holder.pk, course, hours_attended, completed)]
    )
    credential = None
    if completed:
        credential = credential_issue(
            holder=holder, program=course.program, issued_on=course.end_date, source_course=course
        )
    return attendance, credential


@transaction.atomic
def credential_claim(
    *, holder: User, program: Program, issued_on: datetime.date, certificate_number: str
) -> Credential:
    """A holder adds a credential earned elsewhere; it stays unverified until staff check it."""
    certificate_number = (certificate_number or "").strip()
    if not certificate_number:
        raise ValidationError({"certificate_number": [gettext("Enter the certificate number.")]})
    if Credential.objects.filter(holder=holder, program=program).exists():
        # Translators: {program} is a certification's code, such as CSPO.
        text = gettext("You already have a {program} credential here.")
        raise ValidationError({"program": [text.format(program=program.code)]})
    return credential_issue(
        holder=holder,
        program=program,
        issued_on=issued_on,
        certificate_number=certificate_number,
        verified=False,
    )


@transaction.atomic
def credential_verify(*, credential: Credential, notify: bool = True) -> Credential:
    """Staff confirmed a self-reported credential with the issuer: it now counts, and aligns
    the holder's renewal dates like any newly earned credential. With `notify`, the holder is
    emailed once it commits, with what verifying changed in their other renewals (end date,
    units required, activities that stop counting)."""
    if credential.verified:
        return credential
    impact = None
    if notify and credential.program.issuer.combined_renewal:
        impact = credential_impact(holder=credential.holder, credential=credential)
    credential.verified = True
    credential.save(update_fields=["verified"])
    if credential.program.issuer.combined_renewal:
        renewal_dates_align(holder=credential.holder, issuer_id=credential.program.issuer_id)
    credentials_issued.send(sender=Credential, credential_ids=[credential.pk])
    if notify:
        _verified_notify(credential, impact)
    return credential


CLAIM_ALREADY_VERIFIED = _("{code} is verified already: there is no claim to reject.")
REJECT_REASON_REQUIRED = _("Reason: say why, for the holder; it goes in the email they get.")


@transaction.atomic
def credential_reject(*, credential: Credential, reason: str) -> None:
    """Staff could not confirm a self-reported credential with the issuer: the claim is
    removed (the audit trail keeps it) and the holder is emailed the reason once this commits.
    Refused for a verified credential, or without a reason (ValidationError by field)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [REJECT_REASON_REQUIRED]})
    credential = (
        Credential.objects.select_for_update()
        .select_related("holder", "program")
        .get(pk=credential.pk)
    )
    if credential.verified:
        raise ValidationError(CLAIM_ALREADY_VERIFIED.format(code=credential.program.code))
    holder, program, pk = credential.holder, credential.program, credential.pk
    try:
        credential.delete()
    except ProtectedError as kept:
        raise ValidationError(
            gettext(
                "{program} has records that keep it (a renewal); correct it in the admin."
            ).format(program=program.code)
        ) from kept
    context = {
        "user": holder,
        "program": program,
        "certificate_number": credential.certificate_number,
        "reason": reason,
        "claim_url": absolute_url("credentials:claim"),
    }
    transaction.on_commit(
        lambda: _email_holder(
            holder, template="credential_rejected", context=context, key=f"credential-rejected-{pk}"
        ),
        robust=True,
    )


REVOKE_REASON_REQUIRED = _("Reason: say why the credential is revoked; staff read it later.")


@transaction.atomic
def credential_revoke(*, credential: Credential, reason: str, by: User | None) -> Credential:
    """Staff revoke a credential (issued in error, obtained by fraud): from now on it is never
    valid, its public page says "Revoked", no reminder goes out and it cannot be renewed. The
    reason stays with staff. Revocation is final (as the W3C status list's revocation
    purpose): revoking again changes nothing. Once this commits, `credential_revoked` is sent
    so that its published status changes at once.

    Raises ValidationError({"reason": ...}) without a reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [REVOKE_REASON_REQUIRED]})
    credential = Credential.objects.select_for_update().get(pk=credential.pk)
    if credential.revoked_at is not None:
        return credential
    credential.revoked_at = timezone.now()
    credential.revoked_reason = reason
    credential.revoked_by = by
    credential.save(update_fields=["revoked_at", "revoked_reason", "revoked_by"])
    credential_revocation_recorded.send(sender=Credential, credential_id=credential.pk)
    pk = credential.pk
    transaction.on_commit(
        lambda: credential_revoked.send(sender=Credential, credential_id=pk), robust=True
    )
    return credential


def _email_holder(holder: User, *, template: str, context: dict, key: str) -> None:
    """An email staff's action causes, in the holder's saved language (the site's if none)."""
    with reading_as(holder, default_language=settings.LANGUAGE_CODE):
        account_email(to=holder.email, template=template, context=context, key=key)


def _verified_notify(credential: Credential, impact) -> None:
    holder = credential.holder
    # The holder's language (the site's if they saved none), not that of the staff who verify.
    with reading_as(holder, default_language=settings.LANGUAGE_CODE):
        changes = [_change_in_words(change) for change in (impact.changes if impact else [])]
    context = {
        "user": holder,
        "credential": credential,
        "changes": changes,
        "dashboard_url": absolute_url("ledger:dashboard"),
    }
    transaction.on_commit(
        lambda: _email_holder(
            holder,
            template="credential_verified",
            context=context,
            key=f"credential-verified-{credential.pk}",
        ),
        robust=True,
    )


def _joined_heading(before: str, after: str) -> str:
    """ "CSPO renews together with CSM (CSPO + CSM)", or the label when the group stays."""
    if before == after:
        return after
    joining = [code for code in after.split(" + ") if code not in before.split(" + ")]
    joined = joining[0] if joining else ""
    for code in joining[1:]:
        # Translators: joins certification codes: "CSM and CSD" ({codes} may already be a
        # list joined this way: "CSM and CSD and CSP").
        joined = gettext("{codes} and {code}").format(codes=joined, code=code)
    # Translators: {before} and {after} are groups of certification codes ("CSPO",
    # "CSPO + CSM"), {joining} the codes that join ("CSM and CSD").
    return gettext("{before} renews together with {joining} ({after})").format(
        before=before, joining=joined, after=after
    )


def _change_in_words(change) -> dict:
    """A GroupChange as the lines an email or a page shows."""
    unit = change.unit_name
    lines = []
    if change.ends_before != change.ends_after:
        lines.append(
            gettext("Renewal date: {before} → {after}").format(
                before=formats.day(change.ends_before), after=formats.day(change.ends_after)
            )
        )
    if change.required_before != change.required_after:
        # Translators: {unit} is the program's unit (SEU, PDU); the figures are numbers.
        required = gettext("{unit} required: {before} → {after}")
        lines.append(
            required.format(
                unit=unit,
                before=formats.units(change.required_before),
                after=formats.units(change.required_after),
            )
        )
    if change.counted_before != change.counted_after:
        # Translators: {unit} is the program's unit (SEU, PDU); the figures are numbers.
        counted = gettext("{unit} counted: {before} → {after}")
        lines.append(
            counted.format(
                unit=unit,
                before=formats.units(change.counted_before),
                after=formats.units(change.counted_after),
            )
        )
    # Translators: an activity that counts less once the change is made: "14 May 2026 Scrum
    # meetup: 2 → 0 SEU" ({day}, {title}, then units before and after, and the unit).
    stops = gettext("{day} {title}: {before} → {after} {unit}")
    return {
        "heading": _joined_heading(change.label_before, change.label_after),
        "lines": lines,
        "stops_counting": [
            stops.format(
                day=formats.day(item.activity_date),
                title=item.title,
                before=formats.units(item.units_before),
                after=formats.units(item.units_after),
                unit=unit,
            )
            for item in change.stops_counting
        ],
    }


def impact_in_words(impact) -> list[dict]:
    """Each change of an `Impact` as a heading, its figure lines and the activities that stop
    counting, for pages and emails."""
    return [_change_in_words(change) for change in impact.changes]


@transaction.atomic
def holders_merge(*, survivor: User, merged: User, by: User) -> MergePreview:
    """Merge `merged` (a second account of the same person) into `survivor`, all or nothing.

    Everything of the merged account moves to the survivor: credentials with their terms and
    renewals, attendances, memberships, and (by `holders_merging`, which the ledger answers)
    entries with their evidence, fees and reminders. Where both hold a program, the earlier
    issue is kept and the later one removed (refused if it was renewed or has a settled fee).
    The merged account's addresses become the survivor's confirmed secondary addresses, so
    rosters and sign-in with them find the survivor; the merged account is deactivated and
    points at the survivor (`merged_into`). The audit trail keeps every earlier row; the merge
    adds rows for what moved and an entry on both accounts' admin history. Combined-renewal
    credentials (Scrum Alliance) then realign to one renewal date.

    Refused with a ValidationError listing the reasons (`holders_merge_preview`'s refusals):
    merging an account into itself, one already merged, into a deactivated or unconfirmed
    account, staff accounts, an unremovable duplicate credential. Returns the preview it ran.
    """
    if survivor.pk == merged.pk:
        raise ValidationError(MERGE_ITSELF)
    # Both rows locked in one order (lower id first), so two merges of the same pair in
    # opposite directions wait for each other rather than deadlock.
    locked = {
        pk: User.objects.select_for_update().get(pk=pk) for pk in sorted((survivor.pk, merged.pk))
    }
    survivor, merged = locked[survivor.pk], locked[merged.pk]
    # ...and their credentials, which a renewal locks first: none runs while records move.
    list(
        Credential.objects.select_for_update()
        .filter(holder_id__in=locked)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    preview = holders_merge_preview(survivor=survivor, merged=merged)
    if not preview.allowed:
        raise ValidationError(preview.refusals)
    with audit_context(user=by, reason=f"Merged {merged.email} into {survivor.email}"):
        holders_merging.send(sender=User, survivor=survivor, merged=merged)
        for credential in Credential.objects.filter(pk__in=preview.dropped_credential_ids):
            credential.delete()  # its terms and their reminders go with it; history stays
        _attendances_merge(survivor, merged)
        _memberships_merge(survivor, merged)
        moving = list(Credential.objects.filter(holder=merged).values_list("pk", flat=True))
        Credential.objects.filter(pk__in=moving).update(holder=survivor)
        history_record(Credential.objects.filter(pk__in=moving))
        _addresses_merge(survivor, merged)
        # Accounts merged into this one before now point at where their records are.
        User.objects.filter(merged_into=merged).update(merged_into=survivor)
        user_merged_away(user=merged, into=survivor)
        combined = set(
            Credential.objects.filter(
                holder=survivor, program__issuer__combined_renewal=True
            ).values_list("program__issuer_id", flat=True)
        )
        for issuer_id in sorted(combined):
            renewal_dates_align(holder=survivor, issuer_id=issuer_id)
    _merge_logged(survivor=survivor, merged=merged, by=by)
    return preview


def _attendances_merge(survivor: User, merged: User) -> None:
    """Move the merged account's attendances; on a course both attended, one record stays:
    the completed one, or the one with more hours."""
    theirs = {a.course_id: a for a in Attendance.objects.filter(holder=merged)}
    for ours in Attendance.objects.filter(holder=survivor, course_id__in=theirs):
        other = theirs[ours.course_id]
        if (other.completed, other.hours_attended) > (ours.completed, ours.hours_attended):
            ours.completed, ours.hours_attended = other.completed, other.hours_attended
            ours.save(update_fields=["completed", "hours_attended"])
        other.delete()
    Attendance.objects.filter(holder=merged).update(holder=survivor)


def _memberships_merge(survivor: User, merged: User) -> None:
    """Move the merged account's memberships; with one issuer in both, the survivor's stays,
    taking the other's member id if it had none, and paying if either was."""
    theirs = {m.issuer_id: m for m in Membership.objects.filter(holder=merged)}
    for ours in Membership.objects.filter(holder=survivor, issuer_id__in=theirs):
        other = theirs[ours.issuer_id]
        ours.member_id = ours.member_id or other.member_id
        ours.is_paying_member = ours.is_paying_member or other.is_paying_member
        ours.save(update_fields=["member_id", "is_paying_member"])
        other.delete()
    Membership.objects.filter(holder=merged).update(holder=survivor)


def _addresses_merge(survivor: User, merged: User) -> None:
    """The merged account's sign-in address and confirmed secondary addresses become the
    survivor's confirmed secondary addresses; requests for them waiting on either account,
    and the merged account's other waiting requests, are dropped."""
    confirmed = set(
        EmailAddress.objects.filter(user=merged, confirmed_at__isnull=False).values_list(
            "address", flat=True
        )
    )
    EmailAddress.objects.filter(user=survivor, address__in={merged.email, *confirmed}).delete()
    EmailAddress.objects.filter(user=merged, confirmed_at__isnull=True).delete()
    EmailAddress.objects.filter(user=merged).update(user=survivor)
    EmailAddress.objects.create(user=survivor, address=merged.email, confirmed_at=timezone.now())


def _merge_logged(*, survivor: User, merged: User, by: User) -> None:
    """An entry in both accounts' admin history (the "History" button of a user)."""
    from django.contrib.admin.models import CHANGE, LogEntry

    for user, message in (
        (survivor, f"Merged {merged.email} (account {merged.pk}) into this account."),
        (merged, f"Merged into {survivor.email} (account {survivor.pk}); deactivated."),
    ):
        LogEntry.objects.log_actions(
            user_id=by.pk,
            queryset=[user],
            action_flag=CHANGE,
            change_message=message,
            single_object=True,
        )


def calendar_token_reset(*, user: User) -> str:
    """Give the holder a new secret calendar URL; the old one stops working."""
    user.calendar_token = secrets.token_urlsafe(32)
    user.save(update_fields=["calendar_token"])
    return user.calendar_token


def calendar_token_for(user: User) -> str:
    return user.calendar_token or calendar_token_reset(user=user)


DEMO_STAFF_EMAIL = "admin@example.com"
DEMO_PASSWORD_DEFAULT = "cspo-demo-2026"  # noqa: S105 -- a laptop demo, refused with DEBUG off


def demo_user_upsert(*, email: str, password: str, **fields) -> User:
    """Create or reset a demo account to known values (active, licence already accepted)."""
    user, _ = User.objects.update_or_create(
        email=canonical_email(email), defaults={"state": User.State.ACTIVE, **fields}
    )
    if user.licence_accepted_at is None:
        licence_accept(user=user)
    user.set_password(password)
    user.save(update_fields=["password"])
    return user


def demo_password() -> str:
    return os.environ.get("DEMO_PASSWORD") or DEMO_PASSWORD_DEFAULT
