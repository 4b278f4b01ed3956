from django.apps import AppConfig


class SeuLedgerConfig(AppConfig):
    """Continuing-education units, balances, renewals and reminders."""

    name = "seu_ledger"
    verbose_name = "SEU ledger"

    def ready(self):
        from . import receivers  # noqa: F401 - connects the signal receivers
