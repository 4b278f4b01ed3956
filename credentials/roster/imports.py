"""The life of an uploaded roster: check it, queue it, apply it (resumably), invite holders."""

import contextlib
import csv
import io
import logging
from dataclasses import asdict

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import get_valid_filename

from cspo_tracker.claims import (
    UNAVAILABLE,
    claim,
    durable,
    forget_broken_connection,
    new_owner,
    stale_before,
)
from cspo_tracker.history import audit_context
from cspo_tracker.spreadsheets import csv_safe

from ..accounts import invitations_request
from ..models import RosterImport, User
from .apply import roster_apply
from .parse import COLUMNS, RosterFileError, roster_rows
from .validate import ValidationReport, roster_validate

log = logging.getLogger(__name__)
HAS_ERRORS = (
    "This roster has rows with errors. Fix them and upload the file again, or import only the "
    "valid rows."
)
NOTHING_VALID = "No row of this roster is valid: nothing can be imported."


def roster_check(data: bytes) -> ValidationReport:
    """Parse and validate roster bytes; raises RosterFileError for a file refused whole."""
    return roster_validate(roster_rows(data))


def roster_import_check(*, data: bytes, name: str, uploaded_by: User | None) -> RosterImport:
    """Validate an uploaded roster and keep it with what validation found. Nothing else is
    written: the roster is applied only when staff confirm."""
    record = RosterImport(original_name=name[:255], uploaded_by=uploaded_by)
    try:
        report = roster_check(data)
    except RosterFileError as refused:
        record.status = RosterImport.Status.REJECTED
        record.errors = [{"line": 0, "column": "", "message": str(refused)}]
    else:
        record.totals = report.totals
        record.errors = [asdict(error) for error in report.errors]
        record.rows_total = len(report.rows)
        if not report.rows:
            record.status = RosterImport.Status.REJECTED
    if len(data) <= settings.ROSTER_MAX_BYTES:
        record.file.save(get_valid_filename(name) or "roster", ContentFile(data), save=False)
    record.save()
    return record


ALREADY_DONE = "This roster was applied already; applying it again would change nothing."
BEING_APPLIED = (
    "This roster is being applied now ({done} of {total} rows); this page follows its progress."
)


class ClaimLost(Exception):
    """Another run took this import over (this one was stuck past its claim): stop."""


def roster_import_queue(*, record: RosterImport, only_valid_rows: bool, now=None) -> RosterImport:
    """Confirm a checked roster, or run a failed or stuck one again to finish it: apply it in
    the background after this transaction commits. Raises ValidationError saying why when
    there is nothing to start: applied already, being applied now, rows with errors."""
    from ..tasks import roster_import_apply_task

    now = now or timezone.now()
    with transaction.atomic():
        record = RosterImport.objects.select_for_update().get(pk=record.pk)
        if record.status == RosterImport.Status.DONE:
            raise ValidationError(ALREADY_DONE)
        if record.status == RosterImport.Status.REJECTED or not record.rows_total:
            raise ValidationError(NOTHING_VALID)
        in_progress = record.status in (RosterImport.Status.QUEUED, RosterImport.Status.APPLYING)
        if in_progress and not record.is_stuck(now):
            raise ValidationError(
                BEING_APPLIED.format(done=record.rows_done, total=record.rows_total)
            )
        if record.errors and not (only_valid_rows or record.only_valid_rows):
            raise ValidationError(HAS_ERRORS)
        record.only_valid_rows = only_valid_rows or record.only_valid_rows
        record.status = RosterImport.Status.QUEUED
        record.failure = ""
        record.run_token = ""
        record.claimed_at = now
        record.retry_at = None
        record.save(
            update_fields=[
                "only_valid_rows",
                "status",
                "failure",
                "run_token",
                "claimed_at",
                "retry_at",
            ]
        )
        transaction.on_commit(lambda: roster_import_apply_task.delay(record.pk))
    return record


def run_token(task_id: str, attempt: int) -> str:
    """The owner token of one attempt of an import task: its id and its retry number."""
    return f"{task_id}#{attempt}"


def _take(import_id: int, token: str) -> tuple[RosterImport | None, dict]:
    """Claim the import for this attempt (`cspo_tracker.claims`): a queued one, one whose run
    stopped showing progress for longer than CLAIM_EXPIRES, or one an earlier attempt of the
    same task held (Celery retries only once that attempt ended). Returns it, or None when it
    is done or held by a live run, and what earlier, unfinished runs counted."""
    task_id = token.partition("#")[0]
    earlier_attempt = (
        Q(run_token__startswith=f"{task_id}#") & ~Q(run_token=token) if task_id else None
    )
    taken = claim(
        RosterImport.objects.filter(
            pk=import_id, status__in=[RosterImport.Status.QUEUED, RosterImport.Status.APPLYING]
        ),
        owner=token,
        owner_field="run_token",
        also=earlier_attempt,
        status=RosterImport.Status.APPLYING,
        retry_at=None,
        rows_done=0,
    )
    if not taken:
        return None, {}
    record = RosterImport.objects.get(pk=import_id)
    # Unfinished runs' changes still count in the summary; none of them can write it now.
    return record, dict(record.summary)


def roster_import_apply(*, import_id: int, token: str = "") -> RosterImport:
    """Apply a queued roster in batches, saving progress (and so its claim) with each batch.

    A run first claims the import with its token (`run_token`, `_take`): a second run finds it
    held and stops, the retry of a failed attempt takes over from it, and a run that stopped
    showing progress for longer than CLAIM_EXPIRES loses it to the next one (the sweep queues
    that); every write after the claim checks it still holds it (`ClaimLost`). Every run applies all
    valid rows again from the start; the writes are upserts, so rows already in are skipped,
    nothing is duplicated and no row is left out. The end is written with retries that outlast
    a database restart, with the holders' invitations in the same transaction.
    """
    if not token:
        token = new_owner()
    record, earlier = _take(import_id, token)
    if record is None:
        return RosterImport.objects.get(pk=import_id)
    with record.file.open("rb") as handle:
        report = roster_check(handle.read())

    def merged(summary) -> dict:
        keys = set(earlier) | set(summary)
        return {key: earlier.get(key, 0) + summary.get(key, 0) for key in sorted(keys)}

    def on_batch(rows_done, invite_ids, summary):
        held = RosterImport.objects.filter(pk=record.pk, run_token=token).update(
            rows_done=rows_done, summary=merged(summary), claimed_at=timezone.now()
        )
        if not held:
            raise ClaimLost(f"roster import {record.pk} was taken over by another run")

    # The audit trail names who uploaded the roster, and which file made each change.
    with audit_context(user=record.uploaded_by_id, reason=f"Roster import: {record.original_name}"):
        summary = roster_apply(report, batch_size=settings.ROSTER_BATCH_ROWS, on_batch=on_batch)
    emails = {row.email for row in report.rows}

    def finish():
        with transaction.atomic():
            done = RosterImport.objects.filter(pk=record.pk, run_token=token).update(
                status=RosterImport.Status.DONE,
                rows_total=len(report.rows),
                rows_done=len(report.rows),
                summary=merged(summary),
                finished_at=timezone.now(),
                run_token="",
                retry_at=None,
            )
            if done:
                invite = User.objects.filter(
                    email__in=emails, invited_at__isnull=True, state=User.State.INVITED
                ).values_list("pk", flat=True)
                invitations_request(holder_ids=list(invite), requested_by=record.uploaded_by)

    durable(finish, what=f"roster import {record.pk} done")
    return RosterImport.objects.get(pk=record.pk)


def roster_import_retry_at(*, import_id: int, token: str, retry_at) -> None:
    """Say when the next attempt of a failing import is due (for the staff page), if the
    database answers and this attempt still holds the import; the retry happens either way."""
    forget_broken_connection()
    with contextlib.suppress(*UNAVAILABLE):
        RosterImport.objects.filter(pk=import_id, run_token=token).update(retry_at=retry_at)


def roster_import_fail(*, import_id: int, token: str, failure: BaseException) -> None:
    """Mark an import failed with the reason, if this attempt still holds it (a run that lost
    its claim says nothing about the run that took over): staff can run it again to finish it.
    Written with retries that outlast a database restart."""
    log.error("roster import %s failed: %s", import_id, failure)
    forget_broken_connection()
    durable(
        lambda: RosterImport.objects.filter(pk=import_id, run_token=token).update(
            status=RosterImport.Status.FAILED,
            failure=f"{type(failure).__name__}: {failure}"[:2000],
            run_token="",
            retry_at=None,
        ),
        what=f"roster import {import_id} failed",
    )


def roster_imports_sweep(*, now=None) -> list[int]:
    """Queue again every import stuck queued or applying (no progress for longer than
    CLAIM_EXPIRES: its worker died, its task was lost, the database was away). Returns their
    ids."""
    now = now or timezone.now()
    stale = stale_before(now)
    stuck = RosterImport.objects.filter(
        status__in=[RosterImport.Status.QUEUED, RosterImport.Status.APPLYING]
    ).filter(Q(claimed_at__lt=stale) | Q(claimed_at__isnull=True, created_at__lt=stale))
    stuck = stuck.order_by("pk")
    queued = []
    for record in stuck:
        try:
            roster_import_queue(record=record, only_valid_rows=record.only_valid_rows, now=now)
        except ValidationError:
            continue
        queued.append(record.pk)
    return queued


def errors_csv(record: RosterImport) -> str:
    """The bad rows as CSV, for staff to fix the file."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["line", "column", "reason"])
    for error in record.errors:
        writer.writerow([error["line"] or "", error["column"], csv_safe(error["message"])])
    return out.getvalue()


def template_csv() -> str:
    """An empty roster with every column, and one example row."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerow(
        [
            "pat.owner@example.com",
            "Pat",
            "Owner",
            "CSPO-2026-03-A",
            "Certified Scrum Product Owner, March",
            "CSPO",
            "Dana Trainer",
            "2026-03-02",
            "2026-03-03",
            "16",
            "yes",
            "",
        ]
    )
    return out.getvalue()
