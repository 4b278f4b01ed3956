"""The holder tables' trigger functions run their UPDATE with EXECUTE, planned each time they
fire, instead of a plan PL/pgSQL keeps for the connection's life (see
`seu_ledger.page_versions.holder_functions_sql`). What they do is unchanged, so going back
leaves them as they are. PostgreSQL only: SQLite's row triggers are plain SQL."""

import importlib

from django.db import migrations

from seu_ledger.page_versions import holder_functions_sql

# The tables 0012 put triggers on, as it froze them.
HOLDER_TABLES = importlib.import_module(
    "seu_ledger.migrations.0012_page_version_triggers"
).HOLDER_TABLES


def replace(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in holder_functions_sql(HOLDER_TABLES):
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("seu_ledger", "0012_page_version_triggers")]

    operations = [migrations.RunPython(replace, migrations.RunPython.noop)]
