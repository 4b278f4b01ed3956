"""The staff roles see the new models (rule versions, their limits, allocations and carried
units), as migration 0006 gave them every model's view permission then."""

import importlib

from django.db import migrations

roles = importlib.import_module("seu_ledger.migrations.0006_staff_roles")


class Migration(migrations.Migration):
    dependencies = [("seu_ledger", "0008_pmi_talent_triangle_and_current_rules")]
    operations = [migrations.RunPython(roles.seed, migrations.RunPython.noop)]
