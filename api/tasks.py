"""Webhook jobs: thin adapters over `webhooks` and `events`."""

from celery import shared_task

from . import events, webhooks


@shared_task(name="api.deliver", ignore_result=True)
def deliver(delivery_id: int) -> None:
    """One attempt at one delivery (nothing if another worker holds it or it is not due)."""
    webhooks.deliver(delivery_id)


@shared_task(name="api.deliveries_sweep", ignore_result=True)
def deliveries_sweep() -> int:
    """Queue retries that came due and deliveries whose job was lost."""
    return webhooks.deliveries_queue()


@shared_task(name="api.dated_events")
def dated_events() -> dict:
    """credential.expiring, .grace_started and .lapsed for today (idempotent: hourly)."""
    return events.dated_events_record()
