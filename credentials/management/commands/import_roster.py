"""`manage.py import_roster FILE [--dry-run]`: the staff page's import, from a shell."""

from collections import Counter
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from credentials.accounts import invitations_request, invitations_send
from credentials.roster.apply import roster_apply
from credentials.roster.imports import roster_check
from credentials.roster.parse import ENCODINGS, RosterFileError
from cspo_tracker.history import audit_context


class Command(BaseCommand):
    help = "Validate a roster (CSV or XLSX) and import it; --dry-run only validates."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="Validate only; write nothing.")
        parser.add_argument(
            "--only-valid-rows",
            action="store_true",
            help="Import the valid rows even when some rows have errors.",
        )
        parser.add_argument(
            "--encoding",
            choices=sorted(ENCODINGS),
            default="",
            help="Read a CSV in this encoding instead of detecting it.",
        )

    def handle(
        self, *args, file: Path, dry_run: bool, only_valid_rows: bool, encoding: str, **options
    ):
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        if file.stat().st_size > settings.ROSTER_MAX_BYTES:
            raise CommandError(
                f"{file} is larger than the {settings.ROSTER_MAX_BYTES / 2**20:,.0f} MB limit."
            )
        try:
            report = roster_check(file.read_bytes(), encoding)
        except RosterFileError as refused:
            raise CommandError(f"Rejected: {refused}") from refused
        read = report.file
        encoding = f" in {ENCODINGS[read.encoding]}" if read.encoding else ""
        self.stdout.write(f"Read as {read.format}{encoding}.")
        self.stdout.write(
            "Checked: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in report.totals.items())
        )
        for error in report.errors:
            who = (
                f" (row of {error.email})"
                if error.email and error.email not in error.message
                else ""
            )
            self.stdout.write(f"  line {error.line}, {error.column}: {error.message}{who}")
        if report.errors and not only_valid_rows:
            raise CommandError(
                f"Rejected: {len(report.errors)} error(s). Fix the file, or use --only-valid-rows."
            )
        if not report.rows:
            raise CommandError("Rejected: no valid row.")
        if dry_run:
            self.stdout.write(self.style.SUCCESS("Dry run: nothing was written."))
            return
        invite: list[int] = []
        with audit_context(reason=f"import_roster {file.name}"):
            summary: Counter = roster_apply(
                report,
                batch_size=settings.ROSTER_BATCH_ROWS,
                on_batch=lambda done, ids, _summary: invite.extend(ids),
            )
        with transaction.atomic():
            waiting = invitations_request(holder_ids=invite, queue=False)
        sent = invitations_send(invitation_ids=waiting)
        changes = {k: v for k, v in summary.items() if v}
        if not changes:
            self.stdout.write(self.style.SUCCESS("Imported: nothing changed (every row matches)."))
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    "Imported: "
                    + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in changes.items())
                )
            )
        self.stdout.write(f"Invitations sent: {sent}")
