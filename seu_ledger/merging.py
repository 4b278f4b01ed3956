"""The ledger's side of merging two accounts of one person (`credentials.merge`): what would
move and what clashes, and moving it, inside the merge's transaction.

Entries belong to the holder, not to a credential, so every entry moves (with its evidence,
allocations and the renewals that used it); fees and reminders move too. Two clashes can only
be settled here: course hours the same roster logged on both accounts (one copy is voided as a
duplicate), and two unpaid-or-paid fees for the same renewal of a combined group (the unpaid
one is dropped).
"""

from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from credentials.merge import (
    HISTORY_ROWS,
    MERGE_RENEWED_DUPLICATE,
    MERGE_SETTLED_FEE_DUPLICATE,
    LedgerPreview,
)
from credentials.models import Credential, User
from cspo_tracker import formats
from cspo_tracker.history import history_record

from .models import Entry, Fee, Reminder, Renewal

# The void reason of the duplicate entries: stored in the rows, so kept in English.
MERGED_DUPLICATE = "The same course hours were logged on a merged duplicate account."
COURSE_DAYS_BOTH_USED = _(
    # Translators: {course} is a course's code.
    "Course {course} was logged on both accounts and renewals on both used its hours: correct "
    "one of the renewals by hand first, then merge."
)
GROUP_FEES_BOTH_SETTLED = _(
    "Both accounts have a {issuer} renewal fee for the period ending {day}, and neither is "
    "simply due: correct one of them by hand first, then merge."
)


def _consumed(entry_ids) -> set[int]:
    return set(
        Renewal.entries.through.objects.filter(entry_id__in=entry_ids).values_list(
            "entry_id", flat=True
        )
    )


def _course_duplicates(survivor: User, merged: User):
    """Course hours logged on both accounts for the same course day: the entries to void
    (the merged account's copy, or the survivor's where a renewal used the merged one), and
    the courses where renewals used both copies. Two queries."""
    days = defaultdict(dict)
    codes = {}
    for pk, holder_id, course_id, code, day in Entry.objects.filter(
        holder_id__in=[survivor.pk, merged.pk],
        source_course__isnull=False,
        voided_at__isnull=True,
    ).values_list("pk", "holder_id", "source_course_id", "source_course__code", "activity_date"):
        days[(course_id, day)][holder_id] = pk
        codes[course_id] = code
    pairs = {key: both for key, both in days.items() if len(both) == 2}
    used = _consumed([pk for both in pairs.values() for pk in both.values()])
    to_void, by_course, stuck = [], defaultdict(int), set()
    for (course_id, _day), both in pairs.items():
        theirs, ours = both[merged.pk], both[survivor.pk]
        if theirs not in used:
            to_void.append(theirs)
        elif ours not in used:
            to_void.append(ours)
        else:
            stuck.add(codes[course_id])
            continue
        by_course[codes[course_id]] += 1
    return to_void, dict(by_course), sorted(stuck)


def _group_fee_clashes(survivor: User, merged: User):
    """Fees of a combined group (no credential) for the same issuer and period on both
    accounts: the fee rows to drop (a due one not used by a renewal, the merged account's
    first) with words for each, and the clashes where neither may go. Two queries."""
    fees = defaultdict(dict)
    for fee in Fee.objects.filter(
        holder_id__in=[survivor.pk, merged.pk], credential__isnull=True
    ).select_related("issuer"):
        fees[(fee.issuer_id, fee.period_ends_on)][fee.holder_id] = fee
    pairs = [both for both in fees.values() if len(both) == 2]
    used = set(
        Renewal.objects.filter(
            fee__in=[fee for both in pairs for fee in both.values()]
        ).values_list("fee_id", flat=True)
    )
    to_drop, words, stuck = [], [], []
    for both in pairs:
        theirs, ours = both[merged.pk], both[survivor.pk]
        day = formats.day(ours.period_ends_on)
        droppable = [
            fee for fee in (theirs, ours) if fee.status == Fee.Status.DUE and fee.pk not in used
        ]
        if not droppable:
            stuck.append(GROUP_FEES_BOTH_SETTLED.format(issuer=ours.issuer.name, day=day))
            continue
        to_drop.append(droppable[0])
        kept = ours if droppable[0] is theirs else theirs
        words.append(
            gettext(
                # Translators: {status} is the kept fee's status in lower case ("paid",
                # "waived").
                "Both accounts have a {issuer} renewal fee for the period ending {day}: "
                "the one {status} is kept, the due one is dropped."
            ).format(issuer=ours.issuer.name, day=day, status=kept.get_status_display().lower())
        )
    return to_drop, words, stuck


def _dropped_refusals(dropped: tuple[Credential, ...]) -> list[str]:
    """A duplicate credential the merge would remove, which a renewal used or which has a
    fee recorded beyond "due", cannot go: the merge is refused, naming it. Two queries."""
    if not dropped:
        return []
    ids = [credential.pk for credential in dropped]
    renewed = set(
        Renewal.objects.filter(
            Q(closed_term__credential_id__in=ids) | Q(new_term__credential_id__in=ids)
        ).values_list("closed_term__credential_id", flat=True)
    )
    settled = dict(
        Fee.objects.filter(credential_id__in=ids)
        .exclude(status=Fee.Status.DUE)
        .values_list("credential_id", "status")
    )
    refusals = []
    for credential in dropped:
        values = {
            "program": credential.program.code,
            "issued": formats.day(credential.issued_on),
            "email": credential.holder.email,
        }
        if credential.pk in renewed:
            refusals.append(MERGE_RENEWED_DUPLICATE.format(**values))
        elif credential.pk in settled:
            status = Fee.Status(settled[credential.pk]).label.lower()
            refusals.append(MERGE_SETTLED_FEE_DUPLICATE.format(status=status, **values))
    return refusals


def ledger_merge_preview(
    *, survivor: User, merged: User, dropped: tuple[Credential, ...]
) -> LedgerPreview:
    """The ledger's rows that would move from `merged` to `survivor`, how its clashes would be
    settled, and why it would refuse. A fixed number of queries."""
    _, by_course, stuck_courses = _course_duplicates(survivor, merged)
    _, fee_words, stuck_fees = _group_fee_clashes(survivor, merged)
    dropped_ids = [credential.pk for credential in dropped]
    counts = (
        (gettext("Activities (ledger entries, with their evidence)"), merged.entries.count()),
        (gettext("Fees"), merged.fees.count()),
        (gettext("Reminders"), merged.reminders.count()),
        (
            gettext("Renewals"),
            Renewal.objects.filter(closed_term__credential__holder=merged)
            .exclude(closed_term__credential_id__in=dropped_ids)
            .count(),
        ),
        (
            HISTORY_ROWS,
            Entry.history.filter(holder_id=merged.pk).count()
            + Fee.history.filter(holder_id=merged.pk).count(),
        ),
    )
    conflicts = [
        ngettext(
            "Course {course} was logged on both accounts: {count} duplicate day of course hours "
            "voided on one side (kept in the history, counted once).",
            "Course {course} was logged on both accounts: {count} duplicate days of course hours "
            "voided on one side (kept in the history, counted once).",
            days,
        ).format(course=code, count=days)
        for code, days in sorted(by_course.items())
    ]
    return LedgerPreview(
        counts=counts,
        conflicts=(*conflicts, *fee_words),
        refusals=(
            *_dropped_refusals(dropped),
            *(COURSE_DAYS_BOTH_USED.format(course=code) for code in stuck_courses),
            *stuck_fees,
        ),
    )


def ledger_merge(*, survivor: User, merged: User) -> None:
    """Move the merged account's entries, fees and reminders to the survivor, voiding
    duplicate course hours and dropping a duplicate due group fee first. Runs inside the
    merge's transaction with both accounts locked; raises ValidationError (undoing the merge)
    for a clash it cannot settle."""
    # The entries of both, as a renewal or a void locks them.
    list(
        Entry.objects.select_for_update()
        .filter(holder_id__in=[survivor.pk, merged.pk])
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    to_void, _, stuck_courses = _course_duplicates(survivor, merged)
    to_drop, _, stuck_fees = _group_fee_clashes(survivor, merged)
    if stuck_courses or stuck_fees:
        raise ValidationError(
            [*(COURSE_DAYS_BOTH_USED.format(course=c) for c in stuck_courses), *stuck_fees]
        )
    if to_void:
        Entry.objects.filter(pk__in=to_void).update(
            voided_at=timezone.now(), void_reason=MERGED_DUPLICATE
        )
        history_record(Entry.objects.filter(pk__in=to_void))
    for fee in to_drop:
        fee.delete()  # recorded in the fee's history
    entries = list(merged.entries.values_list("pk", flat=True))
    Entry.objects.filter(pk__in=entries).update(holder=survivor, updated_at=timezone.now())
    history_record(Entry.objects.filter(pk__in=entries))
    fees = list(merged.fees.values_list("pk", flat=True))
    Fee.objects.filter(pk__in=fees).update(holder=survivor)
    history_record(Fee.objects.filter(pk__in=fees))
    Reminder.objects.filter(holder=merged).update(holder=survivor)
