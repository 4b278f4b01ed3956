from django.apps import AppConfig


class SeuLedgerConfig(AppConfig):
    """Continuing-education units, balances, renewals and reminders."""

    name = "seu_ledger"
    verbose_name = "SEU ledger"

    def ready(self):
        from django.core.checks import register

        from . import receivers  # noqa: F401 - connects the signal receivers
        from .checks import pdf_fonts_check

        register(pdf_fonts_check)
