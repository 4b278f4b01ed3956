from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SeuLedgerConfig(AppConfig):
    """Continuing-education units, balances, renewals and reminders."""

    name = "seu_ledger"
    verbose_name = _("SEU ledger")

    def ready(self):
        from django.core.checks import register
        from django.db.models.signals import post_migrate, pre_migrate

        from . import receivers  # noqa: F401 - connects the signal receivers
        from .checks import pdf_fonts_check
        from .page_versions import sqlite_triggers_drop, sqlite_triggers_install

        register(pdf_fonts_check)
        # SQLite rebuilds a table to alter it: its page-version triggers come off before a
        # migration and go back on after.
        pre_migrate.connect(sqlite_triggers_drop, sender=self)
        post_migrate.connect(sqlite_triggers_install, sender=self)
