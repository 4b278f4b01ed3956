"""Cached pages follow every write: triggers move the holder's ledger_version and the rules
revision (see seu_ledger.page_versions). The table lists are frozen here; a table the dashboard
starts reading needs a new migration (tests/seu_ledger/test_page_versions.py says which)."""

from django.db import migrations

from seu_ledger.page_versions import HolderTable, install_sql, remove_sql

# Frozen here as they were when this migration was written (seu_ledger.page_versions keeps the
# current lists).
ENTRY_HOLDER = "SELECT holder_id FROM seu_ledger_entry WHERE id IN ({ids})"
CREDENTIAL_HOLDER = "SELECT holder_id FROM credentials_credential WHERE id IN ({ids})"
TERM_HOLDER = (
    "SELECT c.holder_id FROM credentials_term t JOIN credentials_credential c "
    "ON c.id = t.credential_id WHERE t.id IN ({ids})"
)
COURSE_HOLDERS = (
    "SELECT holder_id FROM credentials_credential WHERE source_course_id IN ({ids}) "
    "UNION SELECT holder_id FROM credentials_attendance WHERE course_id IN ({ids}) "
    "UNION SELECT holder_id FROM seu_ledger_entry WHERE source_course_id IN ({ids})"
)
HOLDER_TABLES = (
    HolderTable("credentials_credential", "holder_id"),
    HolderTable("credentials_membership", "holder_id"),
    HolderTable("credentials_term", "credential_id", CREDENTIAL_HOLDER),
    HolderTable("credentials_course", "id", COURSE_HOLDERS),
    HolderTable("seu_ledger_entry", "holder_id"),
    HolderTable("seu_ledger_fee", "holder_id"),
    HolderTable("seu_ledger_allocation", "entry_id", ENTRY_HOLDER),
    HolderTable("seu_ledger_carriedunits", "entry_id", ENTRY_HOLDER),
    HolderTable("seu_ledger_renewal_entries", "entry_id", ENTRY_HOLDER),
    HolderTable("seu_ledger_renewal", "closed_term_id", TERM_HOLDER),
)
RULES_TABLES = (
    "credentials_issuer",
    "credentials_program",
    "seu_ledger_category",
    "seu_ledger_categorymapping",
    "seu_ledger_ruleversion",
    "seu_ledger_categorylimit",
)


def install(apps, schema_editor):
    for statement in install_sql(schema_editor.connection.vendor, HOLDER_TABLES, RULES_TABLES):
        schema_editor.execute(statement, params=None)


def remove(apps, schema_editor):
    for statement in remove_sql(schema_editor.connection.vendor, HOLDER_TABLES, RULES_TABLES):
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("credentials", "0016_page_versions"),
        ("seu_ledger", "0011_roles_see_invitations"),
    ]

    operations = [migrations.RunPython(install, remove)]
