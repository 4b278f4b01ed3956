"""Writes for people and their credentials. Views, admin, tasks and commands call these."""

import os
from dataclasses import dataclass, field

from django.db import transaction

from .models import User

DEMO_STAFF_EMAIL = "admin@example.com"
DEMO_PASSWORD_DEFAULT = "cspo-demo-2026"  # noqa: S105 -- a laptop demo, refused with DEBUG off


@dataclass
class DemoSeedResult:
    staff_email: str
    password: str
    holder_emails: list[str] = field(default_factory=list)


@transaction.atomic
def demo_data_seed(*, password: str | None = None) -> DemoSeedResult:
    """Create (or reset to known values) the demo staff account and demo holders."""
    password = password or os.environ.get("DEMO_PASSWORD") or DEMO_PASSWORD_DEFAULT
    staff, _ = User.objects.update_or_create(
        email=DEMO_STAFF_EMAIL,
        defaults={
            "first_name": "Avery",
            "last_name": "Admin",
            "is_staff": True,
            "is_superuser": True,
            "is_active": True,
        },
    )
    staff.set_password(password)
    staff.save(update_fields=["password"])

    holders = [("pat.owner@example.com", "Pat", "Owner")]
    for email, first_name, last_name in holders:
        holder, _ = User.objects.update_or_create(
            email=email,
            defaults={"first_name": first_name, "last_name": last_name, "is_active": True},
        )
        holder.set_password(password)
        holder.save(update_fields=["password"])
    return DemoSeedResult(
        staff_email=staff.email, password=password, holder_emails=[e for e, _, _ in holders]
    )
