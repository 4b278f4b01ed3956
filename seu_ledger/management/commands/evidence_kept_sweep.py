"""`manage.py evidence_kept_sweep [--hours N]`: delete evidence files kept for activity forms
that were never sent again (their tokens live a day). Celery beat runs the same sweep every
hour; this runs it by hand."""

import datetime

from django.core.management.base import BaseCommand

from seu_ledger.services import EVIDENCE_KEPT_MAX_AGE, evidence_kept_sweep


class Command(BaseCommand):
    help = (
        "Delete evidence files kept while an activity form had errors, once older than their "
        "tokens live (a day by default)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--hours",
            type=int,
            default=int(EVIDENCE_KEPT_MAX_AGE.total_seconds() // 3600),
            help="Delete kept files older than this many hours (default: the token lifetime).",
        )

    def handle(self, *args, hours, **options):
        deleted = evidence_kept_sweep(older_than=datetime.timedelta(hours=hours))
        self.stdout.write(f"Deleted {deleted} kept evidence file{'' if deleted == 1 else 's'}.")
