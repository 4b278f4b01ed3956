"""Seed each issuer's activity categories, how they map onto each other, and PMI's limits.

An activity logged as Scrum Alliance "Learning" also counts as PMI "Education"; "Volunteering"
counts as PMI "Giving Back". Staff edit all of this in the admin.
"""

from decimal import Decimal as D

from django.db import migrations

CATEGORIES = [
    # issuer code, category code, name, description
    ("scrum-alliance", "learning", "Learning",
     "Courses, reading, webinars, coaching received, self-study."),
    ("scrum-alliance", "events", "Events",
     "Conferences, gatherings, user groups, meetups."),
    ("scrum-alliance", "volunteering", "Volunteering",
     "Speaking, organising, mentoring, contributing to the community."),
    ("scrum-alliance", "other", "Other", "Other Scrum-related activities."),
    ("pmi", "education", "Education",
     "Learning in ways of working, power skills and business acumen."),
    ("pmi", "giving-back", "Giving Back",
     "Working as a practitioner, creating content, volunteering, sharing knowledge."),
    ("scaled-agile", "learning", "Continuing education",
     "Learning activities recorded as hours."),
]

MAPPINGS = [
    # (issuer, category) -> (issuer, category)
    (("scrum-alliance", "learning"), ("pmi", "education")),
    (("scrum-alliance", "events"), ("pmi", "education")),
    (("scrum-alliance", "volunteering"), ("pmi", "giving-back")),
    (("pmi", "education"), ("scrum-alliance", "learning")),
    (("pmi", "giving-back"), ("scrum-alliance", "volunteering")),
    (("scrum-alliance", "learning"), ("scaled-agile", "learning")),
    (("scrum-alliance", "events"), ("scaled-agile", "learning")),
    (("pmi", "education"), ("scaled-agile", "learning")),
    (("scaled-agile", "learning"), ("scrum-alliance", "learning")),
    (("scaled-agile", "learning"), ("pmi", "education")),
]

RULES = [
    # program, category, min, max
    ("PMI-ACP", ("pmi", "education"), D(18), None),
    ("PMI-ACP", ("pmi", "giving-back"), None, D(12)),
    ("PMP", ("pmi", "education"), D(35), None),
    ("PMP", ("pmi", "giving-back"), None, D(25)),
]


def seed(apps, schema_editor):
    Issuer = apps.get_model("credentials", "Issuer")
    Program = apps.get_model("credentials", "Program")
    Category = apps.get_model("seu_ledger", "Category")
    CategoryMapping = apps.get_model("seu_ledger", "CategoryMapping")
    ProgramCategoryRule = apps.get_model("seu_ledger", "ProgramCategoryRule")
    categories = {}
    for issuer_code, code, name, description in CATEGORIES:
        issuer = Issuer.objects.get(code=issuer_code)
        categories[(issuer_code, code)], _ = Category.objects.update_or_create(
            issuer=issuer, code=code, defaults={"name": name, "description": description}
        )
    for source, target in MAPPINGS:
        CategoryMapping.objects.get_or_create(
            source=categories[source], target=categories[target]
        )
    for program_code, category, minimum, maximum in RULES:
        ProgramCategoryRule.objects.update_or_create(
            program=Program.objects.get(code=program_code),
            category=categories[category],
            defaults={"min_units": minimum, "max_units": maximum},
        )


def unseed(apps, schema_editor):
    Category = apps.get_model("seu_ledger", "Category")
    ProgramCategoryRule = apps.get_model("seu_ledger", "ProgramCategoryRule")
    CategoryMapping = apps.get_model("seu_ledger", "CategoryMapping")
    ProgramCategoryRule.objects.filter(
        program__code__in=[program for program, *_ in RULES]
    ).delete()
    CategoryMapping.objects.all().delete()
    for issuer_code, code, *_ in CATEGORIES:
        Category.objects.filter(
            issuer__code=issuer_code, code=code, entries__isnull=True
        ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("seu_ledger", "0001_ledger_fees_renewals"),
        ("credentials", "0003_seed_issuers_and_programs"),
    ]
    operations = [migrations.RunPython(seed, unseed)]
