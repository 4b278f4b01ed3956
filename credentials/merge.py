"""Merging two accounts of one person: what a merge would move, what clashes and how it is
settled, and why it may be refused, before anything happens (`holders_merge_preview`). The
merge itself is `services.holders_merge`.

The ledger's rows (entries, fees, reminders, renewals) are the ledger's business, so this app
asks for their figures with `merge_preview_requested` and has them moved with
`holders_merging`, sent inside the merge's transaction; `seu_ledger.receivers` answers both,
and this app never imports the ledger (decision record 0011).
"""

import datetime
from collections import Counter
from dataclasses import dataclass, field

from django.dispatch import Signal
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from cspo_tracker import formats

from .models import Attendance, Credential, EmailAddress, Membership, User
from .selectors import credential_rank, credential_terms, holders_credentials, today

# Sent with survivor, merged and dropped (the credentials the merge would delete, a tuple);
# a receiver returns a `LedgerPreview`.
merge_preview_requested = Signal()
# Sent inside the merge's transaction, both accounts locked, with survivor and merged: a
# receiver moves its rows from merged to survivor, and raises (a ValidationError to refuse)
# to undo the whole merge.
holders_merging = Signal()

# The audit trail's rows about the merged account: they stay as they are (the merge writes
# new ones saying what moved). The ledger counts its rows under the same label.
HISTORY_ROWS = _("History rows (kept as they are; the merge adds its own)")

MERGE_ITSELF = _("An account cannot be merged into itself.")
# Translators: {email} and {into} are the email addresses of two accounts.
MERGE_ALREADY_MERGED = _("{email} was already merged into {into}; it cannot be merged again.")
# Translators: {email} and {into} are the email addresses of two accounts.
MERGE_INTO_MERGED = _("{email} was merged into {into}: keep {into} instead.")
MERGE_INTO_DEACTIVATED = _(
    "{email} is deactivated: keep the other account, or reactivate this one first."
)
MERGE_INTO_PENDING = _(
    "{email} has not confirmed its address yet, so nobody has shown it is theirs: keep the "
    "other account."
)
MERGE_STAFF = _("{email} is a staff account: only holders' accounts are merged.")
MERGE_RENEWED_DUPLICATE = _(
    # Translators: {program} is a certification's code (CSPO), {issued} a date, {email} the
    # address of the account that holds it.
    "Both accounts hold {program}. The one issued later ({issued}, on {email}) has been "
    "renewed, so it cannot be removed: correct the two credentials by hand first (keep one), "
    "then merge."
)
MERGE_SETTLED_FEE_DUPLICATE = _(
    # Translators: {program} is a certification's code (CSPO), {issued} a date, {email} the
    # address of the account that holds it, {status} the fee's status (paid, waived...).
    "Both accounts hold {program}. The one issued later ({issued}, on {email}) has a fee "
    "recorded as {status}, which removing it would lose: correct the fee by hand first, then "
    "merge."
)


def _terms(count: int) -> str:
    """ "1 term", "3 terms"."""
    return ngettext("{count} term", "{count} terms", count).format(count=count)


@dataclass(frozen=True)
class LedgerPreview:
    """The ledger's part of a merge preview: rows that move (label, count), clashes and how
    they are settled, and refusals."""

    counts: tuple[tuple[str, int], ...] = ()
    conflicts: tuple[str, ...] = ()
    refusals: tuple[str, ...] = ()


@dataclass(frozen=True)
class MergePreview:
    """What merging `merged` into `survivor` does: the rows that move to the survivor, the
    clashes and how each is settled, the renewal dates afterwards, and why it cannot happen
    (nothing happens while `refusals` is not empty)."""

    survivor: User
    merged: User
    moves: list[tuple[str, int]] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    renewal_dates: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    dropped_credential_ids: tuple[int, ...] = ()

    @property
    def allowed(self) -> bool:
        return not self.refusals


def default_survivor(first: User, second: User) -> User:
    """The account that survives unless staff choose: the older one."""
    return min(first, second, key=lambda user: (user.date_joined, user.pk))


def account_refusals(survivor: User, merged: User) -> list[str]:
    """Why these two accounts cannot be merged this way round, as sentences."""
    if survivor.pk == merged.pk:
        return [str(MERGE_ITSELF)]
    refusals = []
    if merged.merged_into_id is not None:
        into = User.objects.filter(pk=merged.merged_into_id).values_list("email", flat=True)
        refusals.append(MERGE_ALREADY_MERGED.format(email=merged.email, into=into.first()))
    if survivor.merged_into_id is not None:
        into = User.objects.filter(pk=survivor.merged_into_id).values_list("email", flat=True)
        refusals.append(MERGE_INTO_MERGED.format(email=survivor.email, into=into.first()))
    elif survivor.state == User.State.DEACTIVATED:
        refusals.append(MERGE_INTO_DEACTIVATED.format(email=survivor.email))
    elif survivor.state == User.State.PENDING:
        refusals.append(MERGE_INTO_PENDING.format(email=survivor.email))
    for user in (survivor, merged):
        if user.is_staff or user.is_superuser:
            refusals.append(MERGE_STAFF.format(email=user.email))
    return refusals


def _credential_clashes(credentials: list[Credential], survivor: User) -> tuple[list, list]:
    """For each program both accounts hold: (kept, dropped), the earlier issue kept (the
    survivor's on the same day). Returns the pairs and the conflicts in words."""
    by_program: dict[int, list[Credential]] = {}
    for credential in credentials:
        by_program.setdefault(credential.program_id, []).append(credential)
    pairs, words = [], []
    for pair in by_program.values():
        if len(pair) < 2:
            continue
        kept, dropped = sorted(pair, key=lambda c: (c.issued_on, c.holder_id != survivor.pk, c.pk))
        pairs.append((kept, dropped))
        kept_terms, dropped_terms = len(kept.terms.all()), len(dropped.terms.all())
        text = gettext(
            # Translators: {program} is a certification's code (CSPO); {kept_on} and
            # {dropped_on} are dates, {kept_email} and {dropped_email} the accounts' addresses,
            # {kept_terms} and {dropped_terms} numbers of terms ("1 term", "3 terms").
            "Both accounts hold {program}: the one issued {kept_on} (on {kept_email}, "
            "{kept_terms}) is kept with its terms and renewals; the one issued {dropped_on} (on "
            "{dropped_email}, {dropped_terms}) is removed, with its reminders, and its public "
            "verification link stops working. Activities logged under either account all "
            "stay, on the kept account."
        )
        words.append(
            text.format(
                program=kept.program.code,
                kept_on=formats.day(kept.issued_on),
                kept_email=kept.holder.email,
                kept_terms=_terms(kept_terms),
                dropped_on=formats.day(dropped.issued_on),
                dropped_email=dropped.holder.email,
                dropped_terms=_terms(dropped_terms),
            )
        )
    return pairs, words


def _renewal_dates(credentials: list[Credential], on: datetime.date) -> list[str]:
    """The dates the survivor's credentials renew on once combined issuers realign them."""
    groups: dict[int, list[tuple[Credential, datetime.date]]] = {}
    for credential in credentials:
        program = credential.program
        end = credential_terms(credential)[-1].ends_on
        if program.issuer.combined_renewal and credential.verified and end and end >= on:
            groups.setdefault(program.issuer_id, []).append((credential, end))
    lines = []
    for members in groups.values():
        target = max(end for _, end in members)
        issuer = members[0][0].program.issuer.name
        ranked = sorted(members, key=lambda member: credential_rank(member[0]), reverse=True)
        codes = " + ".join(credential.program.code for credential, _ in ranked)
        moved = [credential.program.code for credential, end in members if end < target]
        if moved:
            line = gettext(
                # Translators: {issuer} is a certifying body (Scrum Alliance), {codes} its
                # certifications' codes ("CSPO + CSM"), {day} a date, {moved} the codes of those
                # whose date moves ("CSM, CSD").
                "{issuer}: {codes} renew together on {day} ({moved} moved to that date)."
            )
        else:
            line = gettext("{issuer}: {codes} renew together on {day}.")
        lines.append(
            line.format(issuer=issuer, codes=codes, day=formats.day(target), moved=", ".join(moved))
        )
    return lines


def holders_merge_preview(*, survivor: User, merged: User) -> MergePreview:
    """What merging `merged` into `survivor` would do, and whether it may. Writes nothing;
    the number of queries does not grow with the accounts' records."""
    refusals = account_refusals(survivor, merged)
    if survivor.pk == merged.pk:
        return MergePreview(survivor=survivor, merged=merged, refusals=refusals)
    credentials = list(holders_credentials([survivor.pk, merged.pk]))
    pairs, conflicts = _credential_clashes(credentials, survivor)
    dropped = tuple(dropped for _, dropped in pairs)
    dropped_ids = {credential.pk for credential in dropped}
    moving = [c for c in credentials if c.holder_id == merged.pk and c.pk not in dropped_ids]

    attendances = list(
        Attendance.objects.filter(holder_id__in=[survivor.pk, merged.pk]).select_related("course")
    )
    theirs = {a.course_id: a for a in attendances if a.holder_id == merged.pk}
    for ours in (a for a in attendances if a.holder_id == survivor.pk):
        other = theirs.get(ours.course_id)
        if other is not None:
            best = max((ours, other), key=lambda a: (a.completed, a.hours_attended))
            if best.completed:
                text = gettext(
                    "Both accounts attended course {course}: one record is kept, completed "
                    "with {hours} hours."
                )
            else:
                text = gettext(
                    "Both accounts attended course {course}: one record is kept, not "
                    "completed with {hours} hours."
                )
            conflicts.append(
                text.format(course=ours.course.code, hours=formats.units(best.hours_attended))
            )
    memberships = list(
        Membership.objects.filter(holder_id__in=[survivor.pk, merged.pk]).select_related("issuer")
    )
    their_memberships = {m.issuer_id: m for m in memberships if m.holder_id == merged.pk}
    for ours in (m for m in memberships if m.holder_id == survivor.pk):
        other = their_memberships.get(ours.issuer_id)
        if other is not None:
            member_id = ours.member_id or other.member_id or gettext("none")
            text = gettext(
                # Translators: {issuer} is a certifying body (Scrum Alliance, PMI).
                "Both accounts have a {issuer} membership: one is kept, member id "
                "{member_id}, paying member if either was."
            )
            conflicts.append(text.format(issuer=ours.issuer.name, member_id=member_id))
    addresses = EmailAddress.objects.filter(user=merged, confirmed_at__isnull=False).count()

    ledger = LedgerPreview()
    for _receiver, response in merge_preview_requested.send(
        sender=User, survivor=survivor, merged=merged, dropped=dropped
    ):
        if isinstance(response, LedgerPreview):
            ledger = response
            break
    # The labels in the current language (the ledger's too, which may give HISTORY_ROWS).
    moves = Counter()
    moves[gettext("Credentials")] = len(moving)
    moves[gettext("Terms")] = sum(len(credential.terms.all()) for credential in moving)
    moves[gettext("Course attendances")] = len(theirs)
    moves[gettext("Memberships")] = len(their_memberships)
    moves[gettext("Addresses (they become the kept account's confirmed addresses)")] = 1 + addresses
    history_rows = str(HISTORY_ROWS)
    history = Credential.history.filter(holder_id=merged.pk).count()
    moves[history_rows] = history
    for label, count in ledger.counts:
        moves[str(label)] += count
    moves[history_rows] = moves.pop(history_rows)  # last in the list
    survivor_credentials = [c for c in credentials if c.pk not in dropped_ids]
    return MergePreview(
        survivor=survivor,
        merged=merged,
        moves=list(moves.items()),
        conflicts=[*conflicts, *ledger.conflicts],
        renewal_dates=_renewal_dates(survivor_credentials, today()),
        refusals=[*refusals, *ledger.refusals],
        dropped_credential_ids=tuple(sorted(dropped_ids)),
    )
