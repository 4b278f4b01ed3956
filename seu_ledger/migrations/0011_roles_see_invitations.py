"""The staff roles see the invitations owed to holders (a new model)."""

import importlib

from django.db import migrations

roles = importlib.import_module("seu_ledger.migrations.0006_staff_roles")


class Migration(migrations.Migration):
    dependencies = [
        ("credentials", "0013_claimed_work_and_invitations"),
        ("seu_ledger", "0010_reminder_expired_kind"),
    ]

    operations = [migrations.RunPython(roles.seed, migrations.RunPython.noop)]
