"""Celery tasks of the ledger: the daily reminder run, its sending batches, and the sweep."""

import datetime

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from credentials.selectors import today

from .reminders.selectors import holders_with_pending_reminders, holders_with_stuck_reminders
from .reminders.services import reminders_record, reminders_send


def _fan_out(holder_ids: list[int], day: datetime.date) -> None:
    size = settings.REMINDER_BATCH_HOLDERS
    for start in range(0, len(holder_ids), size):
        reminders_send_task.delay(holder_ids[start : start + size], day.isoformat())


@shared_task(
    name="seu_ledger.reminders_run",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def reminders_run_task(on: str | None = None) -> dict:
    """The daily job (Celery beat): record what falls due, then hand every holder with a
    pending reminder to the sending tasks, a batch each."""
    day = datetime.date.fromisoformat(on) if on else today()
    recorded = reminders_record(on=day)
    holder_ids = holders_with_pending_reminders()
    _fan_out(holder_ids, day)
    return {"recorded": recorded, "holders": len(holder_ids)}


@shared_task(name="seu_ledger.reminders_sweep")
def reminders_sweep_task() -> int:
    """Every few minutes (Celery beat): send again what failed beyond its task's retries, was
    claimed by a worker that died, or whose sending task was lost. Records nothing new."""
    holder_ids = holders_with_stuck_reminders()
    _fan_out(holder_ids, today())
    return len(holder_ids)


@shared_task(
    bind=True,
    name="seu_ledger.reminders_send",
    # Safe to run again: each holder's reminders are claimed in the database before sending.
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=6,
)
def reminders_send_task(self, holder_ids: list[int], on: str) -> int:
    """Email each holder; the holders whose sending failed are retried with backoff."""
    outcomes = reminders_send(holder_ids=holder_ids, on=datetime.date.fromisoformat(on))
    failed = [o.holder_id for o in outcomes if o.error]
    if failed and self.request.retries < self.max_retries:
        delay = settings.REMINDER_RETRY_SECONDS * 2**self.request.retries
        raise self.retry(args=(failed, on), countdown=delay)
    return sum(len(o.sent) for o in outcomes)
