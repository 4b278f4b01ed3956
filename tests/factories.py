"""Shared factory-boy factories."""

import factory
from django.utils import timezone

from credentials.models import User

DEFAULT_PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"holder{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)
    licence_accepted_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save(update_fields=["password"])


class StaffFactory(UserFactory):
    is_staff = True


def staff_in(role: str):
    """A staff account in a role: "registrar", "viewer", "superuser", or "" for none."""
    from django.contrib.auth.models import Group

    user = StaffFactory()
    if role == "superuser":
        user.is_superuser = True
        user.save()
    elif role:
        user.groups.add(Group.objects.get(name=role))
    return user


def program(code: str):
    """A program seeded by the data migration."""
    from credentials.models import Program

    return Program.objects.select_related("issuer").get(code=code)


def category(key: str):
    """A seeded category by "issuer-code:category-code", e.g. "scrum-alliance:learning"."""
    from seu_ledger.models import Category

    issuer_code, code = key.split(":")
    return Category.objects.get(issuer__code=issuer_code, code=code)


def cspo_course(code: str, **fields):
    """A two-day, 16-hour CSPO course ending on 2025-11-04."""
    import datetime
    from decimal import Decimal

    from credentials.models import Course

    values = {
        "code": code,
        "program": program("CSPO"),
        "start_date": datetime.date(2025, 11, 3),
        "end_date": datetime.date(2025, 11, 4),
        "hours": Decimal(16),
        **fields,
    }
    return Course.objects.create(**values)


def learning_entry(holder, day, hours, title="Meetup"):
    """A Scrum Alliance Learning activity logged through the ledger service."""
    from decimal import Decimal

    from seu_ledger.services import entry_log

    return entry_log(
        holder=holder,
        activity_date=day,
        category=category("scrum-alliance:learning"),
        title=title,
        hours=Decimal(hours),
    )


def organisation(slug: str, **fields):
    """A training organisation named after its slug ("north" -> "North Academy"), whose own
    addresses are at "<slug>.example"."""
    from credentials.models import Organisation

    values = {
        "name": f"{slug.title()} Academy",
        "slug": slug,
        "member_domains": f"{slug}.example",
        **fields,
    }
    return Organisation.objects.create(**values)


def member_of(organisation, role: str = "trainer", **user_fields):
    """An active account with the default password, member of `organisation` in `role`."""
    from credentials.models import OrganisationMember

    user = UserFactory(**user_fields)
    OrganisationMember.objects.create(organisation=organisation, user=user, role=role)
    return user
