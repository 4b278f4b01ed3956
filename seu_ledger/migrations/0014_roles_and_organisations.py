"""The staff roles reach training organisations (new models): both see them, their members
and courses; registrars also set them up (members, identity provider), as they add courses."""

import importlib

from django.db import migrations

roles = importlib.import_module("seu_ledger.migrations.0006_staff_roles")

REGISTRAR_MANAGES = ("organisation", "organisationmember")


def seed(apps, schema_editor):
    roles.seed(apps, schema_editor)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    registrar = Group.objects.get(name="registrar")
    codenames = [f"{verb}_{model}" for model in REGISTRAR_MANAGES for verb in ("add", "change")]
    registrar.permissions.add(
        *Permission.objects.filter(content_type__app_label="credentials", codename__in=codenames)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("credentials", "0019_organisations"),
        ("seu_ledger", "0013_page_versions_planned_when_they_fire"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
