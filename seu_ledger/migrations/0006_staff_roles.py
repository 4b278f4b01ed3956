"""Staff roles as groups: "registrar" (imports, fees, corrections) and "viewer" (read-only).

Superusers manage both in the admin (Users > Groups). Re-running the seeding only adds what is
missing, so staff may widen a role without a migration undoing it.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

APPS = ("credentials", "seu_ledger")

# Models registrars may add and change (never delete: records are voided or corrected).
REGISTRAR_WRITES = {
    "credentials": ("course", "attendance", "credential", "term", "membership", "rosterimport"),
    "seu_ledger": ("entry", "fee"),
}
# Beyond viewing: registrars correct holders' names and send invitations.
REGISTRAR_EXTRA = {"credentials": ("change_user",)}


def seed(apps, schema_editor):
    for app_label in APPS:
        # Permissions are normally created after all migrations; the groups need them now.
        config = apps.get_app_config(app_label)
        historical = getattr(config, "models_module", None) is None
        if historical:
            config.models_module = True
        create_permissions(config, apps=apps, verbosity=0)
        if historical:
            config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    views = Permission.objects.filter(
        content_type__app_label__in=APPS, codename__startswith="view_"
    )
    viewer, _ = Group.objects.get_or_create(name="viewer")
    viewer.permissions.add(*views)
    registrar, _ = Group.objects.get_or_create(name="registrar")
    registrar.permissions.add(*views)
    for app_label, models in REGISTRAR_WRITES.items():
        codenames = [f"{verb}_{model}" for model in models for verb in ("add", "change")]
        registrar.permissions.add(
            *Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
        )
    for app_label, codenames in REGISTRAR_EXTRA.items():
        registrar.permissions.add(
            *Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
        )


def unseed(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=("registrar", "viewer")).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("credentials", "0008_audit_trail"),
        ("seu_ledger", "0005_audit_trail"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
