from django.apps import AppConfig


class SeuLedgerConfig(AppConfig):
    """Continuing-education units, balances, renewals and reminders."""

    name = "seu_ledger"
    verbose_name = "SEU ledger"
