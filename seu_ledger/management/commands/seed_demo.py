"""Load demo accounts so a newcomer can sign in at once; safe to run again and again."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from seu_ledger.demo import demo_data_seed


class Command(BaseCommand):
    help = (
        "Create the demo staff account, holders and training organisations (idempotent). "
        "Refuses to run with DEBUG off."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Seed even with DEBUG off (never on a real production database).",
        )

    def handle(self, *args, force=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "DEBUG is off: demo accounts are for laptops. Use --force to insist."
            )
        result = demo_data_seed()
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(f"  Staff login:  {result.staff_email} / {result.password}")
        for email, shows in result.holders:
            self.stdout.write(f"  Holder login: {email} / {result.password}  ({shows})")
        for email, role, organisation in result.organisation_logins:
            self.stdout.write(
                f"  Organisation login: {email} / {result.password}  ({role}, {organisation})"
            )
