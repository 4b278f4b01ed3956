"""Seed the certifying bodies and their programs (DESIGN.md, "Domain rules").

Staff edit these in the admin afterwards; a new program (e.g. CPO) is a new row, not code.
Reversing removes only programs nobody holds or teaches.
"""

from decimal import Decimal as D

from django.db import migrations

ISSUERS = [
    # code, name, combined renewal, website
    ("scrum-alliance", "Scrum Alliance", True, "https://www.scrumalliance.org"),
    ("scrum-org", "Scrum.org", False, "https://www.scrum.org"),
    ("pmi", "PMI", False, "https://www.pmi.org"),
    ("scaled-agile", "Scaled Agile", False, "https://scaledagile.com"),
]

FOUNDATIONAL, ADVANCED, PROFESSIONAL = 1, 2, 3

# Fields not given take the model defaults (no grace, 24-month look-back, 90-day horizon).
PROGRAMS = [
    dict(issuer="scrum-alliance", code="CSPO", name="Certified Scrum Product Owner", track="PO",
         level=FOUNDATIONAL, validity_months=24, units_required=D(20), unit_name="SEU",
         fee_amount=D(100), daily_unit_cap=D(8), combined_addon_units=D(10),
         min_course_hours=D(16)),
    dict(issuer="scrum-alliance", code="CSM", name="Certified ScrumMaster", track="SM",
         level=FOUNDATIONAL, validity_months=24, units_required=D(20), unit_name="SEU",
         fee_amount=D(100), daily_unit_cap=D(8), combined_addon_units=D(10),
         min_course_hours=D(14)),
    dict(issuer="scrum-alliance", code="CSD", name="Certified Scrum Developer", track="DEV",
         level=FOUNDATIONAL, validity_months=24, units_required=D(20), unit_name="SEU",
         fee_amount=D(100), daily_unit_cap=D(8), combined_addon_units=D(10),
         min_course_hours=D(24)),
    dict(issuer="scrum-alliance", code="A-CSPO", name="Advanced Certified Scrum Product Owner",
         track="PO", level=ADVANCED, validity_months=24, units_required=D(30), unit_name="SEU",
         fee_amount=D(175), daily_unit_cap=D(8), combined_addon_units=D(15),
         min_course_hours=D(16)),
    dict(issuer="scrum-alliance", code="A-CSM", name="Advanced Certified ScrumMaster",
         track="SM", level=ADVANCED, validity_months=24, units_required=D(30), unit_name="SEU",
         fee_amount=D(175), daily_unit_cap=D(8), combined_addon_units=D(15),
         min_course_hours=D(16)),
    dict(issuer="scrum-alliance", code="CSP-PO", name="Certified Scrum Professional Product Owner",
         track="PO", level=PROFESSIONAL, validity_months=24, units_required=D(40),
         unit_name="SEU", fee_amount=D(250), grace_days=90, daily_unit_cap=D(8),
         combined_addon_units=D(20), min_course_hours=D(16)),
    dict(issuer="scrum-alliance", code="CSP-SM", name="Certified Scrum Professional ScrumMaster",
         track="SM", level=PROFESSIONAL, validity_months=24, units_required=D(40),
         unit_name="SEU", fee_amount=D(250), grace_days=90, daily_unit_cap=D(8),
         combined_addon_units=D(20), min_course_hours=D(16)),
    dict(issuer="scrum-org", code="PSPO I", name="Professional Scrum Product Owner I",
         track="PO", level=FOUNDATIONAL, validity_months=None, units_required=D(0),
         unit_name="PDU", fee_required=False),
    dict(issuer="pmi", code="PMI-ACP", name="PMI Agile Certified Practitioner", track="AGILE",
         level=ADVANCED, validity_months=36, units_required=D(30), unit_name="PDU",
         fee_amount=D(150), member_fee_amount=D(60), lookback_months=36),
    dict(issuer="pmi", code="PMP", name="Project Management Professional", track="PM",
         level=PROFESSIONAL, validity_months=36, units_required=D(60), unit_name="PDU",
         fee_amount=None, lookback_months=36),
    dict(issuer="scaled-agile", code="SAFe POPM", name="SAFe Product Owner/Product Manager",
         track="PO", level=FOUNDATIONAL, validity_months=12, units_required=D(10),
         unit_name="hours", fee_amount=D(100), lookback_months=12),
]


def seed(apps, schema_editor):
    Issuer = apps.get_model("credentials", "Issuer")
    Program = apps.get_model("credentials", "Program")
    issuers = {}
    for code, name, combined, website in ISSUERS:
        issuers[code], _ = Issuer.objects.update_or_create(
            code=code, defaults={"name": name, "combined_renewal": combined, "website": website}
        )
    for spec in PROGRAMS:
        spec = dict(spec)
        issuer = issuers[spec.pop("issuer")]
        Program.objects.update_or_create(
            code=spec.pop("code"), defaults={"issuer": issuer, **spec}
        )


def unseed(apps, schema_editor):
    Program = apps.get_model("credentials", "Program")
    Issuer = apps.get_model("credentials", "Issuer")
    Program.objects.filter(
        code__in=[spec["code"] for spec in PROGRAMS], credentials__isnull=True, courses__isnull=True
    ).delete()
    unused = list(
        Issuer.objects.filter(
            code__in=[code for code, *_ in ISSUERS],
            programs__isnull=True,
            memberships__isnull=True,
        ).values_list("pk", flat=True)
    )
    # Nothing refers to these rows any more; a raw delete skips the cascade collector, which
    # cannot follow relations across apps' historical models.
    Issuer.objects.filter(pk__in=unused)._raw_delete(schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [("credentials", "0002_programs_courses_credentials_terms")]
    operations = [migrations.RunPython(seed, unseed)]
