"""Celery tasks of the ledger: the hourly reminder run, its sending batches, and the sweep."""

import datetime

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from cspo_tracker.claims import UNAVAILABLE, retry_or_give_up

from .reminders.selectors import holders_with_stuck_reminders
from .reminders.services import reminders_due_now, reminders_send


def _fan_out(holder_ids: list[int], day: datetime.date | None) -> None:
    size = settings.REMINDER_BATCH_HOLDERS
    for start in range(0, len(holder_ids), size):
        reminders_send_task.delay(
            holder_ids[start : start + size], day.isoformat() if day else None
        )


@shared_task(bind=True, name="seu_ledger.reminders_run", max_retries=8)
def reminders_run_task(self, on: str | None = None, at: str | None = None) -> dict:
    """The hourly job (Celery beat): for the holders whose local reminder time (REMINDER_RUN_AT
    in their own time zone) fell in the last hour, record what falls due on their local date,
    then hand each of them with a pending reminder to the sending tasks, a batch each. With
    `on` (a date), every holder at once as of that day (a manual run). Retried while the
    database does not answer (recording twice adds nothing); a holder's day missed
    altogether is caught up by their next one."""
    moment = datetime.datetime.fromisoformat(at) if at else timezone.now()
    try:
        batches = reminders_due_now(at=moment, on=datetime.date.fromisoformat(on) if on else None)
    except UNAVAILABLE as failure:
        retry_or_give_up(self, failure, args=(on, moment.isoformat()))
        raise
    recorded = holders = 0
    for batch in batches:
        _fan_out(batch.holder_ids, batch.on)
        recorded += batch.recorded
        holders += len(batch.holder_ids)
    return {"recorded": recorded, "holders": holders}


@shared_task(name="seu_ledger.reminders_sweep")
def reminders_sweep_task() -> int:
    """Every few minutes (Celery beat): send again what failed beyond its task's retries, was
    claimed by a worker that died, or whose sending task was lost. Records nothing new."""
    holder_ids = holders_with_stuck_reminders()
    _fan_out(holder_ids, None)  # each holder's facts as of their own local date
    return len(holder_ids)


@shared_task(
    bind=True,
    name="seu_ledger.reminders_send",
    # Safe to run again: each holder's reminders are claimed in the database before sending.
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=6,
)
def reminders_send_task(self, holder_ids: list[int], on: str | None = None) -> int:
    """Email each holder. The holders whose sending failed are retried after
    REMINDER_RETRY_SECONDS, doubling; a database that does not answer, after
    TASK_RETRY_BASE_SECONDS, doubling. What is left after the retries, the sweep sends."""
    try:
        day = datetime.date.fromisoformat(on) if on else None
        outcomes = reminders_send(holder_ids=holder_ids, on=day)
    except UNAVAILABLE as failure:
        retry_or_give_up(self, failure)
        raise
    failed = [o.holder_id for o in outcomes if o.error]
    if failed:
        retry_or_give_up(
            self,
            RuntimeError(f"sending failed for {len(failed)} holder(s)"),
            base=settings.REMINDER_RETRY_SECONDS,
            args=(failed, on),
        )
    return sum(len(o.sent) for o in outcomes)


@shared_task(name="seu_ledger.evidence_kept_sweep")
def evidence_kept_sweep_task() -> int:
    """Every hour (Celery beat): delete evidence files kept for activity forms that were never
    sent again, once their tokens have expired."""
    from .services import evidence_kept_sweep

    return evidence_kept_sweep()
