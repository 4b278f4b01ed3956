"""The daily Open Badges job: a thin adapter over the services."""

from celery import shared_task

from .services import badges_issue_missing, status_refresh


@shared_task(name="badges.daily")
def daily() -> dict:
    """Issue what is missing, then set every status bit to what today's status says."""
    return {"issued": badges_issue_missing(), "status_changed": status_refresh()}
