"""Celery tasks of the credentials app: ids in, a service call, nothing else."""

from celery import shared_task
from django.db import OperationalError

from .roster.imports import holders_invite, roster_import_apply, roster_import_fail


@shared_task(
    name="credentials.account_email",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=8,
)
def account_email_task(to: str, subject: str, text: str, html: str) -> None:
    """Send an account email rendered by the request that asked for it."""
    from cspo_tracker.emails import RenderedEmail, email_deliver

    email_deliver(to=to, rendered=RenderedEmail(subject=subject, text=text, html=html))


@shared_task(
    name="credentials.password_link",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=8,
)
def password_link_task(email: str) -> int:
    """Look up the account for a password-link request and email it the link, if any."""
    from .accounts import password_link_send

    return password_link_send(email=email)


@shared_task(
    bind=True,
    name="credentials.roster_import_apply",
    # Safe to run again: applying is idempotent, and a run holds the import by its task id, so
    # the same task redelivered after its worker died takes over where it stopped.
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=5,
)
def roster_import_apply_task(self, import_id: int) -> None:
    try:
        roster_import_apply(import_id=import_id, run_token=self.request.id or "")
    except OperationalError as failure:
        if self.request.retries < self.max_retries:
            raise self.retry(exc=failure, countdown=2**self.request.retries) from failure
        roster_import_fail(import_id=import_id, failure=failure)
        raise
    except Exception as failure:
        roster_import_fail(import_id=import_id, failure=failure)
        raise


@shared_task(
    name="credentials.holders_invite",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=8,
)
def holders_invite_task(holder_ids: list[int]) -> int:
    return holders_invite(holder_ids=holder_ids)
