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

from ..models import RosterImport, User
from ..services import holder_invite
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
    """Confirm a checked roster: apply it in the background after this transaction commits."""
    from ..tasks import roster_import_apply_task

    with transaction.atomic():
        record = RosterImport.objects.select_for_update().get(pk=record.pk)
        if record.status in (RosterImport.Status.QUEUED, RosterImport.Status.APPLYING):
            return record
        if record.status == RosterImport.Status.DONE:
            return record
        if not record.rows_total:
            raise ValidationError(NOTHING_VALID)
        if record.errors and not only_valid_rows:
            raise ValidationError(HAS_ERRORS)
        record.only_valid_rows = only_valid_rows
        record.status = RosterImport.Status.QUEUED
        record.failure = ""
        record.save(update_fields=["only_valid_rows", "status", "failure"])
        transaction.on_commit(lambda: roster_import_apply_task.delay(record.pk))
    return record


def roster_import_apply(*, import_id: int) -> RosterImport:
    """Apply a queued roster in batches, saving progress with each batch. Run again after a
    failure, it resumes and finishes without duplicating anything."""
    from ..tasks import holders_invite_task

    with transaction.atomic():
        record = RosterImport.objects.select_for_update().get(pk=import_id)
        if record.status == RosterImport.Status.DONE:
            return record
        record.status = RosterImport.Status.APPLYING
        record.save(update_fields=["status"])
    try:
        with record.file.open("rb") as handle:
            report = roster_check(handle.read())
        summary_so_far = dict(record.summary)

        def on_batch(rows_done, invite_ids, summary):
            merged = {**summary_so_far}
            for key, value in summary.items():
                merged[key] = merged.get(key, 0) + value
            RosterImport.objects.filter(pk=record.pk).update(rows_done=rows_done, summary=merged)
            if invite_ids:
                transaction.on_commit(
                    lambda ids=tuple(invite_ids): holders_invite_task.delay(list(ids))
                )

        roster_apply(
            report,
            batch_size=settings.ROSTER_BATCH_ROWS,
            start_at=record.rows_done,
            on_batch=on_batch,
        )
    except Exception as failure:
        log.exception("roster import %s failed", record.pk)
        RosterImport.objects.filter(pk=record.pk).update(
            status=RosterImport.Status.FAILED, failure=f"{type(failure).__name__}: {failure}"
        )
        raise
    record.refresh_from_db()
    record.status = RosterImport.Status.DONE
    record.rows_total = len(report.rows)
    record.rows_done = len(report.rows)
    record.finished_at = timezone.now()
    record.save(update_fields=["status", "rows_total", "rows_done", "finished_at"])
    return record


def holders_invite(*, holder_ids: list[int]) -> int:
    """Email an invitation to each holder not invited yet: claimed in the database first, so
    two workers or a rerun never send the same one twice. Returns how many were sent."""
    sent = 0
    for holder in User.objects.filter(pk__in=holder_ids, invited_at__isnull=True):
        claimed = User.objects.filter(pk=holder.pk, invited_at__isnull=True).update(
            invited_at=timezone.now()
        )
        if not claimed:
            continue
        try:
            holder_invite(holder=holder)
        except Exception:
            # Not sent: release the claim so a retry sends it.
            User.objects.filter(pk=holder.pk).update(invited_at=None)
            raise
        sent += 1
    return sent


def errors_csv(record: RosterImport) -> str:
    """The bad rows as CSV, for staff to fix the file."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["line", "column", "reason"])
    for error in record.errors:
        writer.writerow([error["line"] or "", error["column"], error["message"]])
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
