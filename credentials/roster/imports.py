"""The life of an uploaded roster: check it, queue it, apply it (resumably), invite holders."""

import csv
import io
import logging
from dataclasses import asdict

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.text import get_valid_filename

from cspo_tracker.history import audit_context
from cspo_tracker.spreadsheets import csv_safe

from ..accounts import RateLimited, holder_invite
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


def roster_import_queue(*, record: RosterImport, only_valid_rows: bool) -> RosterImport:
    """Confirm a checked roster (or a failed one, to finish it): apply it in the background
    after this transaction commits."""
    from ..tasks import roster_import_apply_task

    with transaction.atomic():
        record = RosterImport.objects.select_for_update().get(pk=record.pk)
        if record.status not in (RosterImport.Status.VALIDATED, RosterImport.Status.FAILED):
            return record
        if not record.rows_total:
            raise ValidationError(NOTHING_VALID)
        if record.errors and not (only_valid_rows or record.only_valid_rows):
            raise ValidationError(HAS_ERRORS)
        record.only_valid_rows = only_valid_rows or record.only_valid_rows
        record.status = RosterImport.Status.QUEUED
        record.failure = ""
        record.save(update_fields=["only_valid_rows", "status", "failure"])
        transaction.on_commit(lambda: roster_import_apply_task.delay(record.pk))
    return record


def roster_import_apply(*, import_id: int, run_token: str = "") -> RosterImport:
    """Apply a queued roster in batches, saving progress with each batch.

    A run first claims the import with its token: a second run of the same import (a duplicate
    message, a click while a retry is pending) finds it held and stops, while the same task
    redelivered after its worker died carries the same token and takes over. Every run applies
    all valid rows again from the start; the writes are upserts, so rows already in are
    skipped, nothing is duplicated and no row is left out.
    """
    with transaction.atomic():
        record = RosterImport.objects.select_for_update().get(pk=import_id)
        if record.status == RosterImport.Status.DONE:
            return record
        if record.status == RosterImport.Status.APPLYING and record.run_token != run_token:
            return record
        # What earlier, unfinished runs changed still counts in the summary.
        earlier = dict(record.summary) if record.status != RosterImport.Status.QUEUED else {}
        record.status = RosterImport.Status.APPLYING
        record.run_token = run_token
        record.rows_done = 0
        record.save(update_fields=["status", "run_token", "rows_done"])
    with record.file.open("rb") as handle:
        report = roster_check(handle.read())

    def merged(summary) -> dict:
        keys = set(earlier) | set(summary)
        return {key: earlier.get(key, 0) + summary.get(key, 0) for key in sorted(keys)}

    def on_batch(rows_done, invite_ids, summary):
        RosterImport.objects.filter(pk=record.pk).update(
            rows_done=rows_done, summary=merged(summary)
        )

    # The audit trail names who uploaded the roster, and which file made each change.
    with audit_context(user=record.uploaded_by_id, reason=f"Roster import: {record.original_name}"):
        summary = roster_apply(report, batch_size=settings.ROSTER_BATCH_ROWS, on_batch=on_batch)
    invite = list(
        User.objects.filter(
            email__in={row.email for row in report.rows},
            invited_at__isnull=True,
            state=User.State.INVITED,
        ).values_list("pk", flat=True)
    )
    record.status = RosterImport.Status.DONE
    record.rows_total = record.rows_done = len(report.rows)
    record.summary = merged(summary)
    record.finished_at = timezone.now()
    with transaction.atomic():
        record.save(update_fields=["status", "rows_total", "rows_done", "summary", "finished_at"])
        if invite:
            transaction.on_commit(lambda: _queue_invitations(invite))
    return record


def roster_import_fail(*, import_id: int, failure: BaseException) -> None:
    """Mark an import failed (after its retries): staff can run it again to finish it."""
    log.error("roster import %s failed: %s", import_id, failure)
    RosterImport.objects.filter(pk=import_id).update(
        status=RosterImport.Status.FAILED,
        failure=f"{type(failure).__name__}: {failure}",
        run_token="",
    )


def _queue_invitations(holder_ids: list[int]) -> None:
    from ..tasks import holders_invite_task

    for start in range(0, len(holder_ids), 200):
        holders_invite_task.delay(holder_ids[start : start + 200])


def holders_invite(*, holder_ids: list[int]) -> int:
    """Email an invitation to each holder not invited yet: claimed in the database first, so
    two workers or a rerun never send the same one twice. A failure releases that holder's
    claim and the others still go; it is raised at the end so the task retries. Returns how
    many were sent."""
    sent, failures = 0, []
    holders = User.objects.filter(
        pk__in=holder_ids, invited_at__isnull=True, state=User.State.INVITED
    )
    for holder in holders:
        claimed = User.objects.filter(pk=holder.pk, invited_at__isnull=True).update(
            invited_at=timezone.now()
        )
        if not claimed:
            continue
        try:
            holder_invite(holder=holder)
        except RateLimited:
            # Invited too often lately: left for staff to invite again; not a failure to retry.
            User.objects.filter(pk=holder.pk).update(invited_at=None)
            log.warning("invitation to holder %s not sent: rate limit", holder.pk)
        except Exception as failure:  # noqa: BLE001 - released and re-raised below
            User.objects.filter(pk=holder.pk).update(invited_at=None)
            failures.append(failure)
        else:
            sent += 1
    if failures:
        raise failures[0]
    return sent


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
