"""Celery tasks of the credentials app: ids in, a service call, nothing else."""

import datetime

from celery import shared_task
from django.utils import timezone

from cspo_tracker.claims import UNAVAILABLE, new_owner, retry_or_give_up

from .accounts import invitations_queue, invitations_send
from .roster.imports import (
    ClaimLost,
    roster_import_apply,
    roster_import_check_failed,
    roster_import_fail,
    roster_import_retry_at,
    roster_import_run_check,
    roster_imports_sweep,
    run_token,
)
from .selectors import invitations_waiting


@shared_task(
    name="credentials.account_email",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=8,
)
def account_email_task(to: str, subject: str, text: str, html: str, message_id: str = "") -> None:
    """Send an account email rendered by the request that asked for it, under the Message-ID
    it chose (the same on every retry)."""
    from cspo_tracker.emails import RenderedEmail, email_deliver

    email_deliver(
        to=to,
        rendered=RenderedEmail(subject=subject, text=text, html=html),
        headers={"Message-ID": message_id} if message_id else None,
    )


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
    # Safe to run again: applying is idempotent, and each attempt holds the import by a token
    # of its own (task id and retry number), so a copy of the same message delivered twice
    # finds it held, and a retry takes over from the attempt that failed.
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=8,
)
def roster_import_apply_task(self, import_id: int) -> None:
    token = run_token(self.request.id, self.request.retries) if self.request.id else new_owner()
    try:
        roster_import_apply(import_id=import_id, token=token)
    except ClaimLost:
        return  # another run took over this stuck import; it finishes it
    except UNAVAILABLE as failure:

        def show_retry(countdown: float) -> None:
            roster_import_retry_at(
                import_id=import_id,
                token=token,
                retry_at=timezone.now() + datetime.timedelta(seconds=countdown),
            )

        retry_or_give_up(self, failure, before=show_retry)
        # Out of retries with the database still away: the import stays applying, its claim
        # expires, and the sweep queues it again once the database is back.
        raise
    except Exception as failure:
        roster_import_fail(import_id=import_id, token=token, failure=failure)
        raise


@shared_task(
    bind=True,
    name="credentials.roster_import_check",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=8,
)
def roster_import_check_task(self, import_id: int) -> None:
    """Read and validate an uploaded roster (never in the web request)."""
    token = run_token(self.request.id, self.request.retries) if self.request.id else new_owner()
    try:
        roster_import_run_check(import_id=import_id, token=token)
    except ClaimLost:
        return
    except UNAVAILABLE as failure:
        retry_or_give_up(self, failure)
        raise  # left checking: the sweep queues it again once its claim expires
    except Exception as failure:
        roster_import_check_failed(import_id=import_id, token=token, failure=failure)
        raise


@shared_task(bind=True, name="credentials.invitations_send", max_retries=8)
def invitations_send_task(self, invitation_ids: list[int]) -> int:
    """Send these invitations; retried while the mail server or the database fails (each
    invitation is claimed, so none goes twice), then left to the sweep."""
    try:
        return invitations_send(invitation_ids=invitation_ids)
    except (OSError, *UNAVAILABLE) as failure:
        retry_or_give_up(self, failure)
        raise


@shared_task(name="credentials.invitations_sweep")
def invitations_sweep_task() -> int:
    """Every few minutes (Celery beat): send the invitations whose job was lost or whose
    worker died while sending."""
    waiting = invitations_waiting()
    invitations_queue(waiting)
    return len(waiting)


@shared_task(name="credentials.roster_imports_sweep")
def roster_imports_sweep_task() -> list[int]:
    """Every few minutes (Celery beat): queue again the imports stuck queued or applying."""
    return roster_imports_sweep()
