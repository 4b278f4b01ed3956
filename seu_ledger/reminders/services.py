"""Writes about reminders: record what fell due, then claim, send and mark each exactly once.

Exactly once rests on the database and the claim pattern (`cspo_tracker.claims`). A reminder is
a row with a unique (term, point), inserted before anything is sent, so two runs on the same day
(two beats, a manual run beside the scheduled one) record it once. Sending claims the holder's
pending rows with one conditional UPDATE, so two workers never hold the same row; the email goes
out, then the rows are marked sent, with retries that outlast a database restart. A failed send
marks them failed with the reason, and they stay pending until one succeeds. Every email carries
a Message-ID made from the reminders it carries: should a worker die between the mail server's
acceptance and the marking, the copy sent after the claim expires has the same Message-ID, and
receiving mail systems drop it (decision record 0010).
"""

import datetime
import hashlib
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from credentials.models import User
from cspo_tracker.claims import claim, durable, new_owner
from cspo_tracker.emails import email_send, message_id
from cspo_tracker.locale import reading_as
from cspo_tracker.zones import local_date

from ..models import Reminder
from .selectors import (
    PENDING_STATUSES,
    ReminderPlan,
    due_terms,
    holders_with_pending_reminders,
    reminder_plan,
    reminder_zones_due,
)

logger = logging.getLogger(__name__)

REMINDER_TEMPLATE = "reminder"


def reminders_record(*, on: datetime.date, time_zones: list[str] | None = None) -> int:
    """Record every reminder that falls due on `on` and is not recorded yet, in one INSERT ...
    SELECT; a row another run inserted first is left as it is. `time_zones`: only for holders
    in these zones ("" the site's), whose local date `on` is. Returns how many were added."""
    due = due_terms(on, time_zones=time_zones).values(
        r_term=F("pk"),
        r_holder=F("credential__holder_id"),
        r_point=F("point"),
        r_ends_on=F("ends_on"),
        r_grace=F("credential__program__grace_days"),
    )
    try:
        select_sql, params = due.query.sql_with_params()
    except EmptyResultSet:  # no program has a schedule
        return 0
    quote = connection.ops.quote_name
    meta = Reminder._meta
    columns = [
        "term",
        "holder",
        "days_before",
        "term_ends_on",
        "kind",
        "status",
        "attempts",
        "last_error",
        "skip_reason",
        "claim_token",
        "created_at",
    ]
    column_sql = ", ".join(quote(meta.get_field(name).column) for name in columns)
    # Names come from the model's meta and values go as parameters. SQLite needs a WHERE before
    # ON CONFLICT when the rows come from a SELECT.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({column_sql}) "  # noqa: S608
        "SELECT due.r_term, due.r_holder, due.r_point, due.r_ends_on, "
        "CASE WHEN due.r_point > 0 THEN %s WHEN due.r_point = 0 THEN %s "
        "WHEN due.r_point = -(due.r_grace + 1) THEN %s ELSE %s END, "
        "%s, 0, '', '', '', %s "
        f"FROM ({select_sql}) due WHERE 1 = 1 "
        "ON CONFLICT DO NOTHING"
    )
    kinds = [
        Reminder.Kind.EXPIRY_APPROACHING,
        Reminder.Kind.EXPIRY_DAY,
        Reminder.Kind.EXPIRED,  # the expiry point: schedule.expiry_point
        Reminder.Kind.IN_GRACE,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*kinds, Reminder.Status.DUE, timezone.now(), *params])
        return max(cursor.rowcount, 0)


@dataclass(frozen=True)
class ReminderBatch:
    """Holders to remind as of one local date, and how many reminders the run recorded."""

    on: datetime.date
    holder_ids: list[int]
    recorded: int


def reminders_due_now(
    *, at: datetime.datetime | None = None, on: datetime.date | None = None
) -> list[ReminderBatch]:
    """What one run of the hourly job records, and whom it reminds: the holders whose local
    reminder time (REMINDER_RUN_AT) fell in the last hour before `at` (now), as of their local
    date (`reminder_zones_due`). With `on`, every holder as of that day (a manual run).
    Recording twice adds nothing, so overlapping runs send nothing twice."""
    batches = {on: None} if on else reminder_zones_due(at)
    done = []
    for day, time_zones in batches.items():
        recorded = reminders_record(on=day, time_zones=time_zones)
        done.append(ReminderBatch(day, holders_with_pending_reminders(time_zones), recorded))
    return done


@dataclass
class HolderOutcome:
    """What sending to one holder did."""

    holder: User | None
    plan: ReminderPlan | None = None
    error: str = ""
    holder_id: int | None = None

    @property
    def sent(self) -> list[Reminder]:
        return [] if self.error or self.plan is None else self.plan.to_send


def _claim(holder_id: int) -> tuple[str, list[Reminder]]:
    """Take the holder's pending reminders (free, or held by a claim past CLAIM_EXPIRES) for
    this worker alone."""
    token = new_owner()
    pending = Reminder.objects.filter(status__in=PENDING_STATUSES, holder_id=holder_id)
    taken = claim(
        pending, owner=token, expires=settings.CLAIM_EXPIRES, status=Reminder.Status.SENDING
    )
    if not taken:
        return token, []
    return token, list(
        Reminder.objects.filter(claim_token=token, status=Reminder.Status.SENDING).select_related(
            "term"
        )
    )


def reminder_message_id(reminders: list[Reminder]) -> str:
    """A Message-ID that is the same for every copy of the email carrying these reminders."""
    ids = ",".join(str(pk) for pk in sorted(reminder.pk for reminder in reminders))
    return message_id(f"reminders-{hashlib.sha256(ids.encode()).hexdigest()[:32]}")


def reminders_send_to_holder(*, holder_id: int, on: datetime.date | None = None) -> HolderOutcome:
    """Send one holder the email that sums up their pending reminders, once.

    Reminders that no longer apply (renewed, superseded by a later point, unsubscribed) are
    marked skipped with the reason. If the mail server fails, the reminders are marked failed
    with its message and stay pending for the next try; the outcome carries the error.
    """
    token, claimed = _claim(holder_id)
    if not claimed:
        return HolderOutcome(holder=None)
    mine = Reminder.objects.filter(claim_token=token, status=Reminder.Status.SENDING)
    holder = None
    try:
        holder = User.objects.get(pk=holder_id)
        # The holder's own day (a catch-up or sweep passes none), language and time zone.
        on = on or local_date(holder.time_zone)
        with reading_as(holder):
            plan = reminder_plan(holder, claimed, on)
            for reason in set(plan.skipped.values()):
                ids = [pk for pk, why in plan.skipped.items() if why == reason]
                mine.filter(pk__in=ids).update(
                    status=Reminder.Status.SKIPPED, skip_reason=str(reason)[:200], claim_token=""
                )
            if not plan.cards:
                return HolderOutcome(holder=holder, plan=plan)
            headers = {**plan.headers(), "Message-ID": reminder_message_id(plan.to_send)}
            email_send(
                to=holder.email,
                template=REMINDER_TEMPLATE,
                context=plan.context(),
                headers=headers,
            )
    except Exception as failure:  # noqa: BLE001 - recorded on the rows, retried by the caller
        # The mail server refused, or anything else went wrong: the reminders stay pending.
        # (If the database itself is gone for longer than `durable` waits, the claim expires
        # and the sweep takes them.)
        error = f"{type(failure).__name__}: {failure}"[:2000]
        durable(
            lambda: mine.update(
                status=Reminder.Status.FAILED,
                attempts=F("attempts") + 1,
                last_error=error,
                claim_token="",
            ),
            what=f"reminders of holder {holder_id} failed",
        )
        logger.warning("reminder email to holder %s failed: %s", holder_id, error)
        return HolderOutcome(holder=holder, error=error, holder_id=holder_id)
    now = timezone.now()

    def mark_sent():
        with transaction.atomic():
            for card in plan.cards:
                mine.filter(pk__in=[r.pk for r in card.reminders]).update(
                    status=Reminder.Status.SENT,
                    kind=card.kind,
                    sent_at=now,
                    attempts=F("attempts") + 1,
                    last_error="",
                    claim_token="",
                )

    # The email went: its rows must say so even if the database restarts meanwhile.
    durable(mark_sent, what=f"reminders of holder {holder_id} sent")
    return HolderOutcome(holder=holder, plan=plan)


def reminders_send(
    *, holder_ids: list[int], on: datetime.date | None = None
) -> list[HolderOutcome]:
    """Send each holder their email; one holder's failure does not stop the others. Without
    `on`, each holder's facts are told as of their own local date."""
    return [reminders_send_to_holder(holder_id=pk, on=on) for pk in holder_ids]


def reminders_unsubscribe(*, holder: User) -> None:
    """Stop the optional reminders (before the last day); keep the expiry-day and grace ones."""
    if holder.reminders_unsubscribed_at is None:
        holder.reminders_unsubscribed_at = timezone.now()
        holder.save(update_fields=["reminders_unsubscribed_at"])


def reminders_resubscribe(*, holder: User) -> None:
    if holder.reminders_unsubscribed_at is not None:
        holder.reminders_unsubscribed_at = None
        holder.save(update_fields=["reminders_unsubscribed_at"])
