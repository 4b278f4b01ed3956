"""The certifying bodies' rules as they stand (DESIGN.md's corrected table).

- PMI's categories nest: the Talent Triangle skill areas (Ways of Working, Power Skills,
  Business Acumen) inside Education; Working as a Practitioner, Volunteering and Creating
  Knowledge inside Giving Back. Mappings from other issuers point at a leaf.
- PMI programs: PMP (and PgMP, PfMP, PMI-PBA alike) 60 PDU, PMI-ACP (and PMI-RMP, PMI-SP)
  30 PDU, CAPM 15 PDU, each with its Education and skill-area minimums, Giving Back and
  practitioner maximums, carry-over cap, and a one-year suspension (not valid; PDUs dated up
  to the renewal count; then only re-examination). The rules PMI-ACP and PMP had were
  incomplete, not an older rule of PMI's: their first version is corrected in place.
- Scrum Alliance: SEUs count within 30 months before the expiration date, from 2025 on, for
  terms already running too (it was 24 months).
- Existing PMI entries keep their category as an allocation of all their hours.

Reversing restores the earlier data where nothing depends on the new rows.
"""

import datetime
from decimal import Decimal as D

from django.db import migrations

PMI = "pmi"
SA = "scrum-alliance"
SAFE = "scaled-agile"
FIRST_DAY = datetime.date(1990, 1, 1)
SA_30_MONTHS_FROM = datetime.date(2025, 1, 1)
PMI_SOURCE = "PMI Continuing Certification Requirements (CCR) handbook, pmi.org"
SA_SOURCE = (
    "https://support.scrumalliance.org/hc/en-us/articles/360015777971-How-do-I-renew-my-"
    "certification"
)

CHILDREN = [
    # parent code, code, name, description
    ("education", "ways-of-working", "Ways of Working",
     "Talent Triangle: agile, predictive and hybrid practices, tools and techniques."),
    ("education", "power-skills", "Power Skills",
     "Talent Triangle: leadership, communication, collaboration, emotional intelligence."),
    ("education", "business-acumen", "Business Acumen",
     "Talent Triangle: strategy, business and industry knowledge, organisational awareness."),
    ("giving-back", "working-as-practitioner", "Working as a Practitioner",
     "Applying project, program or agile work as part of your job."),
    ("giving-back", "volunteering", "Volunteering",
     "Volunteering for a professional or community organisation."),
    ("giving-back", "creating-knowledge", "Creating Knowledge",
     "Writing, presenting, creating content, mentoring."),
]

# (source issuer, code) -> (target issuer, code): replaces what 0002 seeded.
MAPPINGS = [
    ((SA, "learning"), (PMI, "ways-of-working")),
    ((SA, "events"), (PMI, "ways-of-working")),
    ((SA, "volunteering"), (PMI, "volunteering")),
    ((PMI, "education"), (SA, "learning")),
    ((PMI, "giving-back"), (SA, "volunteering")),
    ((PMI, "working-as-practitioner"), (SA, "other")),
    ((SA, "learning"), (SAFE, "learning")),
    ((SA, "events"), (SAFE, "learning")),
    ((PMI, "education"), (SAFE, "learning")),
    ((SAFE, "learning"), (SA, "learning")),
    ((SAFE, "learning"), (PMI, "ways-of-working")),
]
OLD_MAPPINGS = [
    ((SA, "learning"), (PMI, "education")),
    ((SA, "events"), (PMI, "education")),
    ((SA, "volunteering"), (PMI, "giving-back")),
    ((PMI, "education"), (SA, "learning")),
    ((PMI, "giving-back"), (SA, "volunteering")),
    ((SA, "learning"), (SAFE, "learning")),
    ((SA, "events"), (SAFE, "learning")),
    ((PMI, "education"), (SAFE, "learning")),
    ((SAFE, "learning"), (SA, "learning")),
    ((SAFE, "learning"), (PMI, "education")),
]

ADVANCED, PROFESSIONAL = 2, 3
SUSPENSION = {
    "grace_days": 365,
    "after_end_name": "suspension",
    "after_end_status": "Suspended",
    "valid_after_end": False,
    "lapse_is_final": True,
}
NEW_PROGRAMS = [
    # code, name, track, level, fee, member fee
    ("PgMP", "Program Management Professional", "PGM", PROFESSIONAL, None, None),
    ("PfMP", "Portfolio Management Professional", "PFM", PROFESSIONAL, None, None),
    ("PMI-PBA", "PMI Professional in Business Analysis", "BA", PROFESSIONAL, None, None),
    ("PMI-RMP", "PMI Risk Management Professional", "RISK", ADVANCED, D(150), D(60)),
    ("PMI-SP", "PMI Scheduling Professional", "SCHED", ADVANCED, D(150), D(60)),
    ("CAPM", "Certified Associate in Project Management", "PM", 1, None, None),
]
# Program -> (PDU, Education min, skill-area min, Giving Back max, practitioner max, carry-over)
PMI_RULES = {
    "PMP": (60, 35, 8, 25, 8, 20),
    "PgMP": (60, 35, 8, 25, 8, 20),
    "PfMP": (60, 35, 8, 25, 8, 20),
    "PMI-PBA": (60, 35, 8, 25, 8, 20),
    "PMI-ACP": (30, 18, 4, 12, 4, 10),
    "PMI-RMP": (30, 18, 4, 12, 4, 10),
    "PMI-SP": (30, 18, 4, 12, 4, 10),
    "CAPM": (15, 9, 2, 6, 2, 5),
}
OLD_PMI_LIMITS = {"PMI-ACP": (18, 12), "PMP": (35, 25)}
SKILL_AREAS = ("ways-of-working", "power-skills", "business-acumen")


def seed(apps, schema_editor):
    Issuer = apps.get_model("credentials", "Issuer")
    Program = apps.get_model("credentials", "Program")
    Category = apps.get_model("seu_ledger", "Category")
    CategoryMapping = apps.get_model("seu_ledger", "CategoryMapping")
    RuleVersion = apps.get_model("seu_ledger", "RuleVersion")
    CategoryLimit = apps.get_model("seu_ledger", "CategoryLimit")
    Allocation = apps.get_model("seu_ledger", "Allocation")
    Entry = apps.get_model("seu_ledger", "Entry")
    pmi = Issuer.objects.get(code=PMI)

    def category(issuer_code, code):
        return Category.objects.get(issuer__code=issuer_code, code=code)

    for parent_code, code, name, description in CHILDREN:
        Category.objects.update_or_create(
            issuer=pmi,
            code=code,
            defaults={
                "name": name,
                "description": description,
                "parent": category(PMI, parent_code),
            },
        )
    for source, target in OLD_MAPPINGS:
        CategoryMapping.objects.filter(
            source=category(*source), target=category(*target)
        ).delete()
    for source, target in MAPPINGS:
        CategoryMapping.objects.get_or_create(source=category(*source), target=category(*target))

    for code, name, track, level, fee, member_fee in NEW_PROGRAMS:
        Program.objects.update_or_create(
            code=code,
            defaults={
                "issuer": pmi,
                "name": name,
                "track": track,
                "level": level,
                "validity_months": 36,
                "unit_name": "PDU",
                "fee_amount": fee,
                "member_fee_amount": member_fee,
            },
        )
    Program.objects.filter(issuer=pmi).update(**SUSPENSION)

    for code, (units, education, skill, giving_back, practitioner, carry) in PMI_RULES.items():
        version, _ = RuleVersion.objects.update_or_create(
            program=Program.objects.get(code=code),
            effective_from=FIRST_DAY,
            defaults={
                "units_required": D(units),
                "lookback_months": 36,
                "daily_unit_cap": None,
                "units_after_end_count": True,
                "carry_over_max": D(carry),
                "carry_over_months": 12,
                "source": PMI_SOURCE,
            },
        )
        limits = {
            "education": (D(education), None),
            **{area: (D(skill), None) for area in SKILL_AREAS},
            "giving-back": (None, D(giving_back)),
            "working-as-practitioner": (None, D(practitioner)),
        }
        for code_, (minimum, maximum) in limits.items():
            CategoryLimit.objects.update_or_create(
                rule_version=version,
                category=category(PMI, code_),
                defaults={"min_units": minimum, "max_units": maximum},
            )

    for program in Program.objects.filter(issuer__code=SA, validity_months__isnull=False):
        first = RuleVersion.objects.filter(program=program).order_by("effective_from").first()
        RuleVersion.objects.update_or_create(
            program=program,
            effective_from=SA_30_MONTHS_FROM,
            defaults={
                "applies_to_running_terms": True,
                "units_required": first.units_required,
                "lookback_months": 30,
                "daily_unit_cap": first.daily_unit_cap,
                "combined_addon_units": first.combined_addon_units,
                "source": SA_SOURCE,
            },
        )

    pmi_entries = Entry.objects.filter(category__issuer=pmi).exclude(
        allocations__category__issuer=pmi
    )
    Allocation.objects.bulk_create(
        Allocation(entry=entry, category_id=entry.category_id, hours=entry.hours)
        for entry in pmi_entries
    )


def unseed(apps, schema_editor):
    Program = apps.get_model("credentials", "Program")
    Category = apps.get_model("seu_ledger", "Category")
    CategoryMapping = apps.get_model("seu_ledger", "CategoryMapping")
    RuleVersion = apps.get_model("seu_ledger", "RuleVersion")
    CategoryLimit = apps.get_model("seu_ledger", "CategoryLimit")
    Allocation = apps.get_model("seu_ledger", "Allocation")

    def category(issuer_code, code):
        # Ids, not instances: reversing renders models whose relations point at other copies.
        found = Category.objects.filter(issuer__code=issuer_code, code=code).first()
        return found.pk if found else None

    for allocation in Allocation.objects.filter(category__issuer__code=PMI).select_related(
        "entry"
    ):
        if (allocation.category_id, allocation.hours) == (
            allocation.entry.category_id,
            allocation.entry.hours,
        ):
            allocation.delete()
    alias = schema_editor.connection.alias
    # Raw deletes: the cascade collector cannot follow relations across apps' historical
    # models, and these versions have no limits and no renewals.
    RuleVersion.objects.filter(
        program__issuer__code=SA, effective_from=SA_30_MONTHS_FROM, renewals__isnull=True
    )._raw_delete(alias)
    for code, (education, giving_back) in OLD_PMI_LIMITS.items():
        version = RuleVersion.objects.filter(program__code=code, effective_from=FIRST_DAY).first()
        if version is None:
            continue
        version.units_after_end_count = False
        version.carry_over_max = None
        version.save()
        limits = CategoryLimit.objects.filter(rule_version_id=version.pk)
        limits.exclude(category__code__in=("education", "giving-back")).delete()
        limits.filter(category__code="education").update(min_units=D(education))
        limits.filter(category__code="giving-back").update(max_units=D(giving_back))
    unused = list(
        Program.objects.filter(
            code__in=[code for code, *_ in NEW_PROGRAMS],
            credentials__isnull=True,
            courses__isnull=True,
        ).values_list("pk", flat=True)
    )
    CategoryLimit.objects.filter(rule_version__program_id__in=unused).delete()
    RuleVersion.objects.filter(program_id__in=unused)._raw_delete(alias)
    Program.objects.filter(pk__in=unused)._raw_delete(alias)
    Program.objects.filter(issuer__code=PMI).update(
        grace_days=0,
        after_end_name="grace period",
        after_end_status="In grace",
        valid_after_end=True,
        lapse_is_final=False,
    )
    for source, target in MAPPINGS:
        CategoryMapping.objects.filter(
            source_id=category(*source), target_id=category(*target)
        ).delete()
    for source, target in OLD_MAPPINGS:
        source_id, target_id = category(*source), category(*target)
        if source_id and target_id:
            CategoryMapping.objects.get_or_create(source_id=source_id, target_id=target_id)
    CategoryLimit.objects.filter(category__code__in=[c for _, c, *_ in CHILDREN]).delete()
    unused = Category.objects.filter(
        issuer__code=PMI,
        code__in=[code for _, code, *_ in CHILDREN],
        entries__isnull=True,
        allocations__isnull=True,
        mappings__isnull=True,
        mapped_from__isnull=True,
        limits__isnull=True,
    )
    Category.objects.filter(pk__in=list(unused.values_list("pk", flat=True)))._raw_delete(alias)


class Migration(migrations.Migration):
    dependencies = [
        ("seu_ledger", "0007_rule_versions_allocations_carry_over"),
        ("credentials", "0011_program_after_end_and_rules_to_ledger"),
    ]
    operations = [migrations.RunPython(seed, unseed)]
