"""The ledger's answers to the credentials app's signals: course hours become Learning units,
the impact of a claim, and the ledger's side of merging two accounts."""

import datetime
from decimal import ROUND_DOWN, Decimal

from django.dispatch import receiver
from django.utils import timezone

from credentials.impact import impact_requested
from credentials.merge import holders_merging, merge_preview_requested
from credentials.signals import attendances_recorded
from cspo_tracker.bulk import insert_rows, many
from cspo_tracker.history import CREATED, history_record

from .models import Category, Entry, Renewal

QUARTER = Decimal("0.25")
# The void reason of replaced course hours: stored in the rows, so kept in English (as the
# entries' titles made from a course's code).
CORRECTED = "The roster was corrected; replaced by the new hours."


def split_hours(total: Decimal, days: int) -> list[Decimal]:
    """Spread hours over days in quarter steps, any remainder on the first days."""
    quarters = int((total / QUARTER).to_integral_value(rounding=ROUND_DOWN))
    base, extra = divmod(quarters, days)
    return [QUARTER * (base + (1 if index < extra else 0)) for index in range(days)]


@receiver(attendances_recorded)
def course_hours_log(sender, attendances, **kwargs) -> int:
    """Completion adds the course hours (as attended, at most the course's) to the holder's
    ledger as Learning entries, one per course day so the daily cap reads them right; attendance
    without completion adds nothing. Changed hours replace the earlier entries unless a renewal
    used them. Returns the number of entries written. A few queries per call, not per row."""
    attendances = [
        (holder_id, course, min(hours, course.hours))
        for holder_id, course, hours, completed in attendances
        if completed
    ]
    if not attendances:
        return 0
    holder_ids = {holder_id for holder_id, _, _ in attendances}
    course_ids = {course.pk for _, course, _ in attendances}
    live = {}
    for pk, holder_id, course_id, hours, day in Entry.objects.filter(
        holder_id__in=many(holder_ids), source_course_id__in=course_ids, voided_at__isnull=True
    ).values_list("pk", "holder_id", "source_course_id", "hours", "activity_date"):
        ids, total, days = live.get((holder_id, course_id), ([], Decimal(0), set()))
        live[(holder_id, course_id)] = ([*ids, pk], total + hours, days | {day})
    consumed = set(
        Renewal.entries.through.objects.filter(
            entry_id__in=many([pk for ids, _, _ in live.values() for pk in ids])
        ).values_list("entry_id", flat=True)
    )
    learning = {
        issuer_id: pk
        for pk, issuer_id in Category.objects.filter(code="learning").values_list("pk", "issuer_id")
    }
    to_void, new = [], []
    now = timezone.now()
    for holder_id, course, hours in attendances:
        ids, logged, days = live.get((holder_id, course.pk), ([], Decimal(0), set()))
        category_id = learning.get(course.program.issuer_id)
        in_course = all(course.start_date <= day <= course.end_date for day in days)
        if (logged == hours and in_course) or category_id is None or consumed.intersection(ids):
            continue
        to_void.extend(ids)
        days = (course.end_date - course.start_date).days + 1
        for offset, day_hours in enumerate(split_hours(hours, days)):
            if day_hours > 0:
                new.append(
                    (
                        holder_id,
                        course.start_date + datetime.timedelta(days=offset),
                        category_id,
                        course.title or f"{course.program.code} course {course.code}",
                        course.trainer,
                        day_hours,
                        course.pk,
                        now,
                    )
                )
    if to_void:
        voided = Entry.objects.filter(pk__in=many(to_void))
        voided.update(voided_at=timezone.now(), void_reason=CORRECTED)
        history_record(voided)
    written = insert_rows(
        Entry,
        [
            "holder_id",
            "activity_date",
            "category_id",
            "title",
            "provider",
            "hours",
            "source_course_id",
            "created_at",
            "description",
            "evidence",
            "void_reason",
            "updated_at",
        ],
        [(*row, "", "", "", now) for row in new],
    )
    if written:
        kept = {pk for ids, _, _ in live.values() for pk in ids} - set(to_void)
        history_record(
            Entry.objects.filter(
                holder_id__in=many({row[0] for row in new}),
                source_course_id__in={row[6] for row in new},
                voided_at__isnull=True,
            ).exclude(pk__in=many(kept)),
            history_type=CREATED,
        )
    return written


@receiver(impact_requested)
def alignment_impact_answer(sender, holder, program, issued_on, credential, **kwargs):
    """Answer `credentials.impact.credential_impact` with the ledger's figures."""
    from .services import alignment_impact

    return alignment_impact(
        holder=holder, program=program, issued_on=issued_on, credential=credential
    )


@receiver(merge_preview_requested)
def merge_preview_answer(sender, survivor, merged, dropped, **kwargs):
    """Answer `credentials.merge.holders_merge_preview` with the ledger's rows and clashes."""
    from .merging import ledger_merge_preview

    return ledger_merge_preview(survivor=survivor, merged=merged, dropped=dropped)


@receiver(holders_merging)
def ledger_rows_merge(sender, survivor, merged, **kwargs):
    """Move the ledger's rows inside `credentials.services.holders_merge`'s transaction."""
    from .merging import ledger_merge

    ledger_merge(survivor=survivor, merged=merged)
