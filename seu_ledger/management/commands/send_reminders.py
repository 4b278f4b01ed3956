"""`manage.py send_reminders [--dry-run] [--date YYYY-MM-DD]`: the daily reminder job, by hand."""

import datetime

from django.core.management.base import BaseCommand, CommandError

from credentials.models import User
from credentials.selectors import today
from seu_ledger.reminders.selectors import (
    ReminderPlan,
    due_terms,
    holders_with_pending_reminders,
    reminder_preview,
)
from seu_ledger.reminders.services import reminders_record, reminders_send_to_holder


def _day(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--date: {value!r} is not a date like 2026-03-31.") from None


class Command(BaseCommand):
    help = (
        "Record the reminders due on a day (today by default) and email each holder once; "
        "--dry-run prints what would be sent and writes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Print only; write nothing.")
        parser.add_argument("--date", help="Run as on this day (YYYY-MM-DD) instead of today.")

    def handle(self, *args, dry_run: bool, date: str | None, **options):
        on = _day(date) if date else today()
        if dry_run:
            self._dry_run(on)
            return
        if on > today():
            raise CommandError(
                f"--date {on.isoformat()} is in the future: sending now what falls due then would "
                "tell holders the wrong number of days. Use --dry-run to see it."
            )
        recorded = reminders_record(on=on)
        self.stdout.write(f"{on.isoformat()}: {recorded} reminder(s) fell due.")
        sent = failed = 0
        for holder_id in holders_with_pending_reminders():
            # A catch-up run for an earlier day still tells today's facts (the holder's today).
            outcome = reminders_send_to_holder(holder_id=holder_id)
            if outcome.error:
                failed += 1
                self.stdout.write(f"FAILED holder {holder_id}: {outcome.error}")
                continue
            if outcome.plan is None:
                continue
            if outcome.plan.cards:
                sent += 1
                self.stdout.write(f"sent   {self._line(outcome.plan)}")
        self.stdout.write(f"{sent} email(s) sent, {failed} failed (to be retried).")
        if failed:
            raise CommandError(f"{failed} email(s) could not be sent; they stay due.")

    def _dry_run(self, on: datetime.date) -> None:
        holder_ids = set(holders_with_pending_reminders())
        holder_ids |= set(due_terms(on).values_list("credential__holder_id", flat=True))
        count = 0
        for holder in User.objects.filter(pk__in=holder_ids).order_by("email"):
            plan = reminder_preview(holder, on)
            if plan.cards:
                count += 1
                self.stdout.write(f"would send {self._line(plan)}")
        self.stdout.write(f"Dry run for {on.isoformat()}: {count} email(s); nothing written.")

    @staticmethod
    def _line(plan: ReminderPlan) -> str:
        return f"{plan.holder.email}: {plan.subject}"
