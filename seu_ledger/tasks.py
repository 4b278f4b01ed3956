"""Celery tasks of the ledger: the daily reminder run and its sending batches."""

import datetime

from celery import shared_task
from django.conf import settings

from credentials.selectors import today

from .reminders.selectors import holders_with_pending_reminders
from .reminders.services import reminders_record, reminders_send


@shared_task(name="seu_ledger.reminders_run")
def reminders_run_task(on: str | None = None) -> dict:
    """The daily job (Celery beat): record what falls due, then hand every holder with a
    pending reminder to the sending tasks, a batch each."""
    day = datetime.date.fromisoformat(on) if on else today()
    recorded = reminders_record(on=day)
    holder_ids = holders_with_pending_reminders()
    size = settings.REMINDER_BATCH_HOLDERS
    for start in range(0, len(holder_ids), size):
        reminders_send_task.delay(holder_ids[start : start + size], day.isoformat())
    return {"recorded": recorded, "holders": len(holder_ids)}


@shared_task(
    bind=True,
    name="seu_ledger.reminders_send",
    # Safe to run again: each holder's reminders are claimed in the database before sending.
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=6,
)
def reminders_send_task(self, holder_ids: list[int], on: str) -> int:
    """Email each holder; the holders whose mail server failed are retried with backoff."""
    outcomes = reminders_send(holder_ids=holder_ids, on=datetime.date.fromisoformat(on))
    failed = [o.holder.pk for o in outcomes if o.error]
    if failed and self.request.retries < self.max_retries:
        delay = settings.REMINDER_RETRY_SECONDS * 2**self.request.retries
        raise self.retry(args=(failed, on), countdown=delay)
    return sum(len(o.sent) for o in outcomes)
