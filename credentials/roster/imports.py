"""The life of an uploaded roster: check it, queue it, apply it (resumably), invite holders."""

import contextlib
import datetime
import logging
from dataclasses import asdict

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.text import get_valid_filename
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cspo_tracker.bulk import many
from cspo_tracker.claims import (
    UNAVAILABLE,
    claim,
    durable,
    forget_broken_connection,
    new_owner,
    stale_before,
)
from cspo_tracker.history import audit_context

from ..accounts import invitations_request
from ..models import Organisation, RosterImport, User
from ..organisations import RosterScope, roster_scope
from ..selectors import accounts_for_addresses
from ..signals import roster_import_completed
from .apply import roster_apply
from .parse import (
    COLUMNS,
    ENCODINGS,
    RosterEncodingError,
    RosterFileError,
    not_a_roster,
    roster_read,
    roster_stream,
    too_big,
)
from .validate import ACCOUNT_FIELDS, ValidationReport, roster_validate

log = logging.getLogger(__name__)
HAS_ERRORS = _(
    "This roster has rows with errors. Fix them and upload the file again, or import only the "
    "valid rows."
)
NOTHING_VALID = _("No row of this roster is valid: nothing can be imported.")


def stored_text():
    """What a check writes to the import (its problems, how the file was read) is stored as
    text, in English whoever uploaded it: translation is off while the file is checked (the
    problems are marked for translation, but the import keeps the English, the msgids)."""
    return translation.override(None)


class ClaimLost(Exception):
    """Another run took this import over (this one was stuck past its claim): stop."""


def run_token(task_id: str, attempt: int) -> str:
    """The owner token of one attempt of a roster task (check or apply): its id and retry."""
    return f"{task_id}#{attempt}"


def _earlier_attempt(token: str) -> Q | None:
    """Rows held by an earlier attempt of the same task: Celery retries a task only once its
    attempt ended, so a retry may take over at once."""
    task_id, mark, _ = token.partition("#")
    return Q(run_token__startswith=f"{task_id}#") & ~Q(run_token=token) if mark else None


def roster_check(
    data: bytes, encoding: str = "", progress=None, scope: RosterScope | None = None
) -> ValidationReport:
    """Read and validate roster bytes, row by row (see `parse.roster_stream`), within an
    organisation's `scope` when given: the report keeps the valid rows, the errors and how
    the file was read, never the raw rows. Raises RosterFileError for a file refused whole."""
    roster, rows = roster_stream(data, encoding=encoding, progress=progress)
    report = roster_validate(rows, scope)
    report.rows_read = report.totals["rows"]
    report.file = roster
    return report


def _store(
    *, data: bytes, name: str, uploaded_by: User | None, encoding: str, organisation=None
) -> RosterImport:
    record = RosterImport(
        original_name=name[:255],
        uploaded_by=uploaded_by,
        organisation=organisation,
        encoding=encoding,
        status=RosterImport.Status.CHECKING,
        claimed_at=timezone.now(),
    )
    record.file.save(get_valid_filename(name) or "roster", ContentFile(data), save=False)
    record.save()
    return record


def roster_file_bytes(upload) -> bytes:
    """The bytes of an uploaded roster file (a Django UploadedFile), if it can be one: at most
    ROSTER_MAX_BYTES, not empty, not some other kind of file. Raises ValidationError saying
    which (the page and the API show the same)."""
    limit = settings.ROSTER_MAX_BYTES
    if upload.size > limit:
        raise ValidationError(too_big(upload.size, limit))
    upload.seek(0)
    data = upload.read()
    if not data.strip():
        raise ValidationError(gettext("The file is empty."))
    refused = not_a_roster(data)
    if refused:
        raise ValidationError(refused)
    return data


def roster_import_upload(
    *,
    data: bytes,
    name: str,
    uploaded_by: User | None,
    encoding: str = "",
    organisation: Organisation | None = None,
) -> RosterImport:
    """Keep an uploaded roster and have it checked: by a worker once this transaction commits
    (ROSTER_CHECK_IN_WORKER), so a web request never parses a file, or at once. Nothing else
    is written: the roster is applied only when staff confirm. Uploaded for an
    `organisation`, its rows may name only what the uploader reaches there (`roster_scope`)."""
    record = _store(
        data=data,
        name=name,
        uploaded_by=uploaded_by,
        encoding=encoding,
        organisation=organisation,
    )
    _check_later(record)
    record.refresh_from_db()
    return record


def roster_import_check(
    *,
    data: bytes,
    name: str,
    uploaded_by: User | None,
    encoding: str = "",
    organisation: Organisation | None = None,
) -> RosterImport:
    """Keep a roster and check it now, in this process (the command, tests)."""
    record = _store(
        data=data,
        name=name,
        uploaded_by=uploaded_by,
        encoding=encoding,
        organisation=organisation,
    )
    return roster_import_run_check(import_id=record.pk)


def _check_later(record: RosterImport) -> None:
    if not settings.ROSTER_CHECK_IN_WORKER:
        roster_import_run_check(import_id=record.pk)
        return
    from ..tasks import roster_import_check_task

    transaction.on_commit(lambda: roster_import_check_task.delay(record.pk))


def roster_import_run_check(*, import_id: int, token: str = "") -> RosterImport:
    """Read and validate a stored roster, once (`cspo_tracker.claims`: a second run finds it
    held), saving the rows read as progress, then record what validation found: checked and
    waiting for confirmation, or rejected with the reasons. Raises ClaimLost when another run
    took it over."""
    token = token or new_owner()
    taken = claim(
        RosterImport.objects.filter(pk=import_id, status=RosterImport.Status.CHECKING),
        owner=token,
        owner_field="run_token",
        also=_earlier_attempt(token),
        rows_read=0,
    )
    if not taken:
        return RosterImport.objects.get(pk=import_id)
    record = RosterImport.objects.select_related("organisation", "uploaded_by").get(pk=import_id)
    scope = roster_scope(record)

    def progress(rows: int) -> None:
        held = RosterImport.objects.filter(pk=import_id, run_token=token).update(
            rows_read=rows, claimed_at=timezone.now()
        )
        if not held:
            raise ClaimLost(f"the check of roster import {import_id} was taken over")

    results: dict = {"totals": {}, "rows_total": 0, "read_as": {}}
    with stored_text():
        try:
            with record.file.open("rb") as handle:
                report = roster_check(handle.read(), record.encoding, progress, scope)
        except RosterFileError as refused:
            results["errors"] = [{"line": 0, "column": "", "message": str(refused)}]
            results["status"] = RosterImport.Status.REJECTED
            results["read_as"] = {
                "encoding": record.encoding,
                "encoding_label": str(ENCODINGS.get(record.encoding, "")),
                "encoding_problem": isinstance(refused, RosterEncodingError),
            }
        else:
            roster = report.file
            results.update(
                totals=report.totals,
                errors=[asdict(error) for error in report.errors],
                rows_total=len(report.rows),
                rows_read=report.rows_read,
                status=RosterImport.Status.VALIDATED
                if report.rows
                else RosterImport.Status.REJECTED,
                read_as={
                    "format": roster.format,
                    "encoding": roster.encoding,
                    "encoding_label": str(ENCODINGS.get(roster.encoding, "")),
                    "samples": roster.samples,
                    "accented_rows": roster.accented_rows,
                },
            )
    durable(
        lambda: RosterImport.objects.filter(pk=import_id, run_token=token).update(
            run_token="", claimed_at=timezone.now(), **results
        ),
        what=f"roster import {import_id} checked",
    )
    return RosterImport.objects.get(pk=import_id)


def roster_import_check_failed(*, import_id: int, token: str, failure: BaseException) -> None:
    """The check stopped on an unexpected error: reject the import saying so (staff can check
    it again, or upload the file again)."""
    log.error("roster import %s could not be checked: %s", import_id, failure)
    forget_broken_connection()
    with stored_text():
        # Translators: {problem} is the unexpected error, as Python names it (in English).
        message = gettext("The file could not be checked ({problem}).").format(
            problem=f"{type(failure).__name__}: {failure}"
        )
    durable(
        lambda: RosterImport.objects.filter(pk=import_id, run_token=token).update(
            status=RosterImport.Status.REJECTED,
            errors=[{"line": 0, "column": "", "message": message[:2000]}],
            run_token="",
        ),
        what=f"roster import {import_id} check failed",
    )


NOT_CHECKED_YET = {
    "checked again": _(
        "This roster is not checked yet, or was applied; it cannot be checked again."
    ),
    "discarded": _("This roster is not checked yet, or was applied; it cannot be discarded."),
}
CSV_ONLY = _("Only a CSV file has an encoding to choose; an XLSX file says what its text is.")


def roster_import_recheck(*, record: RosterImport, encoding: str) -> RosterImport:
    """Read a checked or rejected CSV again in the encoding staff chose (one of ENCODINGS, or
    "" to detect), and check it again. Raises ValidationError when that is not possible."""
    if encoding and encoding not in ENCODINGS:
        raise ValidationError(gettext("Unknown encoding “{encoding}”.").format(encoding=encoding))
    with transaction.atomic():
        record = RosterImport.objects.select_for_update().get(pk=record.pk)
        if record.status not in (RosterImport.Status.VALIDATED, RosterImport.Status.REJECTED):
            raise ValidationError(NOT_CHECKED_YET["checked again"])
        if not record.file:
            raise ValidationError(gettext("The file of this import is gone; upload it again."))
        if record.read_as.get("format") == "XLSX":
            raise ValidationError(CSV_ONLY)
        RosterImport.objects.filter(pk=record.pk).update(
            encoding=encoding,
            status=RosterImport.Status.CHECKING,
            totals={},
            errors=[],
            rows_total=0,
            rows_read=0,
            read_as={},
            run_token="",
            claimed_at=timezone.now(),
        )
        record.refresh_from_db()
        _check_later(record)
    record.refresh_from_db()
    return record


def roster_import_discard(*, record: RosterImport) -> RosterImport:
    """Staff drop a checked roster they will not import: it stays in the history as discarded
    and its file (personal data nobody needs) is deleted. Raises ValidationError for an import
    that is being worked on or was applied."""
    with transaction.atomic():
        record = RosterImport.objects.select_for_update().get(pk=record.pk)
        if record.status not in (RosterImport.Status.VALIDATED, RosterImport.Status.REJECTED):
            raise ValidationError(NOT_CHECKED_YET["discarded"])
        stored, storage = record.file.name, record.file.storage
        record.status = RosterImport.Status.DISCARDED
        record.file = ""
        record.save(update_fields=["status", "file"])
        if stored:
            transaction.on_commit(lambda: storage.delete(stored))
    return record


ALREADY_DONE = _("This roster was applied already; applying it again would change nothing.")
BEING_CHECKED = _(
    "This roster is still being checked; this page shows the result when it is ready."
)
DISCARDED = _("This roster was discarded; upload the file again to import it.")
BEING_APPLIED = _(
    # Translators: {done} and {total} are numbers of rows.
    "This roster is being applied now ({done} of {total} rows); this page follows its progress."
)


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
        if record.status == RosterImport.Status.CHECKING:
            raise ValidationError(BEING_CHECKED)
        if record.status == RosterImport.Status.DISCARDED:
            raise ValidationError(DISCARDED)
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


def _take(import_id: int, token: str) -> tuple[RosterImport | None, dict]:
    """Claim the import for this attempt (`cspo_tracker.claims`): a queued one, one whose run
    stopped showing progress for longer than CLAIM_EXPIRES, or one an earlier attempt of the
    same task held (Celery retries only once that attempt ended). Returns it, or None when it
    is done or held by a live run, and what earlier, unfinished runs counted."""
    taken = claim(
        RosterImport.objects.filter(
            pk=import_id, status__in=[RosterImport.Status.QUEUED, RosterImport.Status.APPLYING]
        ),
        owner=token,
        owner_field="run_token",
        also=_earlier_attempt(token),
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
    with record.file.open("rb") as handle, stored_text():
        # Read as the check read it (the encoding it detected, or the one staff chose); its
        # problems are stored with the import, in English (`stored_text`).
        report = roster_check(
            handle.read(),
            record.read_as.get("encoding", record.encoding),
            scope=roster_scope(record),
        )

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
                # The check made again now: what it refused was left out (e.g. a course that
                # is no longer the uploader's to report, or an uploader who left).
                errors=[asdict(error) for error in report.errors],
                rows_total=len(report.rows),
                rows_done=len(report.rows),
                summary=merged(summary),
                finished_at=timezone.now(),
                run_token="",
                retry_at=None,
            )
            if done:
                accounts = accounts_for_addresses(emails, only=ACCOUNT_FIELDS)
                invite = User.objects.filter(
                    pk__in=many({user.pk for user in accounts.values()}),
                    invited_at__isnull=True,
                    state=User.State.INVITED,
                ).values_list("pk", flat=True)
                invitations_request(
                    holder_ids=list(invite),
                    requested_by=record.uploaded_by,
                    organisation=record.organisation,
                )
                roster_import_completed.send(sender=RosterImport, import_id=record.pk)

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
    """Queue again every import stuck being checked, queued or applying (no progress for
    longer than CLAIM_EXPIRES: its worker died, its task was lost, the database was away).
    Returns their ids."""
    from ..tasks import roster_import_check_task

    now = now or timezone.now()
    stale = stale_before(now)
    stuck = RosterImport.objects.filter(status__in=RosterImport.IN_PROGRESS).filter(
        Q(claimed_at__lt=stale) | Q(claimed_at__isnull=True, created_at__lt=stale)
    )
    queued = []
    for record in stuck.order_by("pk"):
        if record.status == RosterImport.Status.CHECKING:
            # Its claim expired: the next check takes it over.
            transaction.on_commit(lambda pk=record.pk: roster_import_check_task.delay(pk))
        else:
            try:
                roster_import_queue(record=record, only_valid_rows=record.only_valid_rows, now=now)
            except ValidationError:
                continue
        queued.append(record.pk)
    return queued


# The header of the problems download (translated when it is made: `errors_header`).
ERRORS_HEADER = (_("line"), _("email"), _("name"), _("column"), _("problem"))


def errors_header() -> list[str]:
    return [str(name) for name in ERRORS_HEADER]


def errors_rows(record: RosterImport) -> list[tuple]:
    """The problems found, one row each: line, who the row is about, column (as the file
    names it), reason (stored in English: `stored_text`)."""
    # Translators: in the "line" column of the problems download, for a problem of the whole
    # file rather than of one of its lines.
    whole_file = gettext("file")
    return [
        (
            error["line"] or whole_file,
            error.get("email", ""),
            error.get("name", ""),
            error["column"],
            error["message"],
        )
        for error in record.errors
    ]


PROBLEM_COLUMN = "problem"


def rejected_rows(record: RosterImport) -> tuple[list, list[tuple]]:
    """The rows that were not imported, as the file has them (its header and cells), with a
    last column saying what is wrong: staff fix them and upload this file again (a column we
    do not read, like "problem" in any language, is ignored). Raises RosterFileError if the
    stored file cannot be read any more."""
    # Translators: the header of the last column of the rejected rows' file (what is wrong
    # with each row); the same word as the "problem" column of the problems download.
    problem_column = gettext("problem")
    old_problems = {PROBLEM_COLUMN, problem_column.strip().lower()}
    problems: dict[int, list[str]] = {}
    for error in record.errors:
        if error["line"]:
            column = f"{error['column']}: " if error["column"] else ""
            problems.setdefault(error["line"], []).append(column + error["message"])
    with record.file.open("rb") as handle:
        roster = roster_read(handle.read(), encoding=record.read_as.get("encoding", ""))
    # A file that was itself a file to fix: its old problems are replaced, not kept beside.
    kept = [
        index
        for index, name in enumerate(roster.header)
        if str(name or "").strip().lower() not in old_problems
    ]
    rows = [
        (
            *(row.cells[index] if index < len(row.cells) else "" for index in kept),
            "; ".join(problems[row.line]),
        )
        for row in roster.rows
        if row.line in problems
    ]
    return [*(roster.header[index] for index in kept), problem_column], rows


# Two people nobody could mistake for real ones (or for a demo account).
TEMPLATE_ROWS = [
    (
        "sample.attendee@example.com",
        "Sample",
        "Attendee",
        "CSPO-2026-03-A",
        "Certified Scrum Product Owner, March",
        "CSPO",
        "Example Trainer",
        datetime.date(2026, 3, 2),
        datetime.date(2026, 3, 3),
        "16",
        "yes",
        "",
    ),
    (
        "another.sample@example.com",
        "Another",
        "Sample",
        "CSM-2026-04-B",
        "Certified ScrumMaster, April",
        "CSM",
        "Example Trainer",
        datetime.date(2026, 4, 13),
        datetime.date(2026, 4, 14),
        "14",
        "no",
        "000000",
    ),
]


def template_rows() -> tuple[tuple, list[tuple]]:
    """An empty roster with every column, and two example rows."""
    return COLUMNS, TEMPLATE_ROWS
