"""Celery tasks of the credentials app: ids in, a service call, nothing else."""

from celery import shared_task
from django.db import OperationalError

from .roster.imports import holders_invite, roster_import_apply


@shared_task(
    name="credentials.roster_import_apply",
    acks_late=True,  # safe: applying is idempotent and resumes from its saved progress
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def roster_import_apply_task(import_id: int) -> None:
    roster_import_apply(import_id=import_id)


@shared_task(
    name="credentials.holders_invite",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=8,
)
def holders_invite_task(holder_ids: list[int]) -> int:
    return holders_invite(holder_ids=holder_ids)
