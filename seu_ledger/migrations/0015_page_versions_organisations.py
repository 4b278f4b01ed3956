"""The holder dashboard reads two tables of training organisations: an organisation's name
("trained by" on the credentials its courses issued) and a person's memberships (the header's
"Organisation" link). Triggers on both move the versions of the holders concerned, as on every
table the dashboard reads (seu_ledger.page_versions)."""

from django.db import migrations

from seu_ledger.page_versions import EVERY_PAGE, HolderTable, install_sql, remove_sql

# Frozen here as they were when this migration was written.
ORGANISATION_HOLDERS = (
    "SELECT c.holder_id FROM credentials_credential c JOIN credentials_course co "
    "ON co.id = c.source_course_id WHERE co.organisation_id IN ({ids})"
)
HOLDER_TABLES = (
    HolderTable("credentials_organisation", "id", ORGANISATION_HOLDERS),
    HolderTable("credentials_organisationmember", "user_id"),
)


def install(apps, schema_editor):
    for statement in install_sql(schema_editor.connection.vendor, HOLDER_TABLES, ()):
        schema_editor.execute(statement, params=None)


def remove(apps, schema_editor):
    # Only these tables' triggers: the function every table's TRUNCATE trigger runs stays.
    for statement in remove_sql(schema_editor.connection.vendor, HOLDER_TABLES, ()):
        if EVERY_PAGE not in statement:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("seu_ledger", "0014_roles_and_organisations")]

    operations = [migrations.RunPython(install, remove)]
