"""Claiming work so it is done once, and never left half-way: one pattern for every job.

A unit of work (a holder's reminders, a roster import, an invitation) is a database row. A
worker takes it with a conditional UPDATE that sets an owner token and the time, and succeeds
only if nobody holds it or the holder's claim has expired (a worker that died). Its final state
is written with `durable`, which retries through a database restart. Whatever is left claimed
past the expiry, or waiting with no job queued, is found by a periodic sweep and taken again.
Decision record 0010.
"""

import datetime
import logging
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.db import connection as default_connection
from django.db.models import Q, QuerySet
from django.utils import timezone

log = logging.getLogger(__name__)
T = TypeVar("T")

# Errors that mean "the database is not answering", as opposed to a refused write.
UNAVAILABLE = (OperationalError, InterfaceError)


def new_owner() -> str:
    """A token naming one attempt at a piece of work."""
    return uuid.uuid4().hex


def stale_before(now: datetime.datetime | None = None) -> datetime.datetime:
    """Claims (or waits for a job) from before this moment have expired: CLAIM_EXPIRES ago."""
    return (now or timezone.now()) - settings.CLAIM_EXPIRES


def claimable(
    *,
    owner_field: str,
    at_field: str,
    now: datetime.datetime,
    expires: datetime.timedelta | None = None,
) -> Q:
    """Rows nobody holds, or held by a claim older than `expires` (CLAIM_EXPIRES)."""
    since = now - expires if expires is not None else stale_before(now)
    return Q(**{owner_field: ""}) | Q(**{f"{at_field}__lt": since})


def claim(
    queryset: QuerySet,
    *,
    owner: str,
    owner_field: str = "claim_token",
    at_field: str = "claimed_at",
    expires: datetime.timedelta | None = None,
    now: datetime.datetime | None = None,
    also: Q | None = None,
    **changes,
) -> int:
    """Take the rows of `queryset` that are free, or whose claim is older than `expires`
    (CLAIM_EXPIRES), or that match `also` (a holder known to be gone), for `owner`, in one
    conditional UPDATE that also sets `changes`. Returns how many it took: two workers never
    hold the same row."""
    now = now or timezone.now()
    free = claimable(owner_field=owner_field, at_field=at_field, expires=expires, now=now)
    if also is not None:
        free |= also
    return queryset.filter(free).update(**{owner_field: owner, at_field: now}, **changes)


def durable(write: Callable[[], T], *, what: str, seconds: float | None = None) -> T:
    """Run a database write, retrying while the database does not answer, for up to
    `seconds` (CLAIM_DURABLE_SECONDS: longer than a database restart), with growing pauses.
    For the write that records how a piece of work ended, so that the work is not done again
    because its end could not be written. Raises the last error once time is up."""
    deadline = time.monotonic() + (settings.CLAIM_DURABLE_SECONDS if seconds is None else seconds)
    pause = 0.2
    while True:
        try:
            return write()
        except UNAVAILABLE as failure:
            if time.monotonic() + pause > deadline:
                raise
            log.warning("%s: the database did not answer (%s); trying again", what, failure)
            forget_broken_connection()
            time.sleep(pause)
            pause = min(pause * 2, 10.0)


def retry_countdown(retries: int, *, base: float | None = None) -> float:
    """Seconds before retry number `retries + 1` of a background job: doubling from `base`
    (TASK_RETRY_BASE_SECONDS, 2 s), at most 30 times it, so eight retries span about five
    minutes, longer than a database restart."""
    base = settings.TASK_RETRY_BASE_SECONDS if base is None else base
    return min(base * 2**retries, base * 30)


def retry_or_give_up(
    task,
    failure: BaseException,
    *,
    base: float | None = None,
    before: Callable[[float], None] | None = None,
    **options,
) -> None:
    """From inside a bound Celery task that met `failure` (the database or the mail server
    not answering): raise the task's retry after `retry_countdown` seconds (calling `before`
    with them first), or return once it has no retries left, so the caller gives up; the
    work's claim then expires and the sweep takes it later."""
    if task.request.retries < task.max_retries:
        countdown = retry_countdown(task.request.retries, base=base)
        if before is not None:
            before(countdown)
        raise task.retry(exc=failure, countdown=countdown, **options) from failure


def forget_broken_connection() -> None:
    """Forget a connection the database closed, so the next query opens a new one. Inside a
    transaction nothing is done: the transaction is lost with its connection either way."""
    if default_connection.in_atomic_block or default_connection.connection is None:
        return
    if not default_connection.is_usable():
        default_connection.close()
