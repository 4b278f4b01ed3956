"""`manage.py check_rules [--program CODE] [--date YYYY-MM-DD]`: each program's renewal rules
in words, to compare with the issuer's own page."""

import datetime

from django.core.management.base import BaseCommand, CommandError

from seu_ledger.selectors import rule_versions_in_force, rules_in_words


class Command(BaseCommand):
    help = (
        "Print each program's renewal rules in force on a day (today by default) in words, "
        "for staff to compare with the issuer's page."
    )

    def add_arguments(self, parser):
        parser.add_argument("--program", default="", help="Only this program code, e.g. PMP.")
        parser.add_argument("--date", default="", help="The day, as YYYY-MM-DD (default today).")

    def handle(self, *args, program, date, **options):
        try:
            on = datetime.date.fromisoformat(date) if date else None
        except ValueError:
            raise CommandError(f"--date: {date!r} is not a date like 2026-03-31.") from None
        versions = rule_versions_in_force(on, program)
        if not versions:
            raise CommandError(f"No renewal rules recorded for program {program!r}.")
        for version in versions:
            for line in rules_in_words(version):
                self.stdout.write(line)
            self.stdout.write("")
