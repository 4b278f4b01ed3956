"""Renewal rules as dated versions with category limits; categories that nest; allocations
of an entry's hours per category; units carried over by a renewal.

Each program's rules (until now fields of the program) become its first version, in force
from 1990, and its category rules become that version's limits. Reversing copies the version
in force today back.
"""

import datetime

import django.db.models.deletion
import django.db.models.expressions
import django.db.models.functions.math
import simple_history.models
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


FIRST_DAY = datetime.date(1990, 1, 1)
COPIED = ("units_required", "lookback_months", "daily_unit_cap", "combined_addon_units")


def rules_to_versions(apps, schema_editor):
    Program = apps.get_model("credentials", "Program")
    RuleVersion = apps.get_model("seu_ledger", "RuleVersion")
    CategoryLimit = apps.get_model("seu_ledger", "CategoryLimit")
    ProgramCategoryRule = apps.get_model("seu_ledger", "ProgramCategoryRule")
    versions = {}
    for program in Program.objects.all():
        versions[program.pk], _ = RuleVersion.objects.get_or_create(
            program=program,
            effective_from=FIRST_DAY,
            defaults={field: getattr(program, field) for field in COPIED},
        )
    for rule in ProgramCategoryRule.objects.all():
        CategoryLimit.objects.get_or_create(
            rule_version=versions[rule.program_id],
            category_id=rule.category_id,
            defaults={"min_units": rule.min_units, "max_units": rule.max_units},
        )


def versions_to_rules(apps, schema_editor):
    Program = apps.get_model("credentials", "Program")
    RuleVersion = apps.get_model("seu_ledger", "RuleVersion")
    ProgramCategoryRule = apps.get_model("seu_ledger", "ProgramCategoryRule")
    today = datetime.date.today()
    for program in Program.objects.all():
        version = (
            RuleVersion.objects.filter(program=program, effective_from__lte=today)
            .order_by("-effective_from")
            .first()
        )
        if version is None:
            continue
        for field in COPIED:
            setattr(program, field, getattr(version, field))
        program.save(update_fields=list(COPIED))
        for limit in version.limits.all():
            ProgramCategoryRule.objects.update_or_create(
                program=program,
                category_id=limit.category_id,
                defaults={"min_units": limit.min_units, "max_units": limit.max_units},
            )


class Migration(migrations.Migration):

    dependencies = [
        ('credentials', '0010_account_states_and_canonical_email'),
        ('seu_ledger', '0006_staff_roles'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='category',
            name='parent',
            field=models.ForeignKey(blank=True, help_text='The broader category this one belongs to (of the same issuer).', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='children', to='seu_ledger.category'),
        ),
        migrations.CreateModel(
            name='Allocation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('hours', models.DecimalField(decimal_places=2, max_digits=6)),
                ('category', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='allocations', to='seu_ledger.category')),
                ('entry', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='allocations', to='seu_ledger.entry')),
            ],
            options={
                'ordering': ['entry', 'category__issuer__name', 'category__name'],
            },
        ),
        migrations.CreateModel(
            name='CarriedUnits',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('units', models.DecimalField(decimal_places=2, max_digits=6)),
                ('category', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='seu_ledger.category')),
                ('entry', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='carried_units', to='seu_ledger.entry')),
                ('renewal', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='carried_units', to='seu_ledger.renewal')),
            ],
            options={
                'verbose_name_plural': 'carried units',
            },
        ),
        migrations.CreateModel(
            name='HistoricalAllocation',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('hours', models.DecimalField(decimal_places=2, max_digits=6)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('category', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='seu_ledger.category')),
                ('entry', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='seu_ledger.entry')),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'historical allocation',
                'verbose_name_plural': 'historical allocations',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='RuleVersion',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('effective_from', models.DateField(help_text='The first day these rules are in force.')),
                ('applies_to_running_terms', models.BooleanField(default=False, help_text='Also judge terms that started before this date and end on or after it (as the issuer says for its change). Off: only terms starting from this date.')),
                ('units_required', models.DecimalField(decimal_places=2, help_text='Units needed to renew one term.', max_digits=6)),
                ('lookback_months', models.PositiveSmallIntegerField(default=24, help_text="Units dated within this many months before the term's end count (Scrum Alliance: 30; PMI: the 36-month cycle).")),
                ('daily_unit_cap', models.DecimalField(blank=True, decimal_places=2, help_text='Most units that count per calendar day (Scrum Alliance: 8). Empty: no cap.', max_digits=5, null=True)),
                ('combined_addon_units', models.DecimalField(decimal_places=2, default=0, help_text='Units this credential adds to a combined renewal when it tops another track.', max_digits=6)),
                ('units_after_end_count', models.BooleanField(default=False, help_text="Units dated after the term's end, up to the renewal, count toward it (PMI, during suspension).")),
                ('carry_over_max', models.DecimalField(blank=True, decimal_places=2, help_text="Units earned in the cycle's last months beyond what the renewal needs carry over to the next cycle, up to this many (PMP: 20). Empty: nothing carries over.", max_digits=6, null=True)),
                ('carry_over_months', models.PositiveSmallIntegerField(default=12, help_text='The last months of a cycle whose extra units may carry over.')),
                ('source', models.CharField(blank=True, help_text='Where the issuer publishes these rules.', max_length=300)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('program', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='rule_versions', to='credentials.program')),
            ],
            options={
                'ordering': ['program', 'effective_from'],
            },
        ),
        migrations.CreateModel(
            name='CategoryLimit',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('min_units', models.DecimalField(blank=True, decimal_places=2, max_digits=6, null=True)),
                ('max_units', models.DecimalField(blank=True, decimal_places=2, max_digits=6, null=True)),
                ('category', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='limits', to='seu_ledger.category')),
                ('rule_version', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='limits', to='seu_ledger.ruleversion')),
            ],
            options={
                'ordering': ['rule_version', 'category__parent_id', 'category__name'],
            },
        ),
        migrations.AddField(
            model_name='renewal',
            name='rule_version',
            field=models.ForeignKey(blank=True, help_text='The rules the renewal was judged by (empty for renewals before versions).', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='renewals', to='seu_ledger.ruleversion'),
        ),
        migrations.RunPython(rules_to_versions, versions_to_rules),
        migrations.DeleteModel(
            name='ProgramCategoryRule',
        ),
        migrations.AddConstraint(
            model_name='allocation',
            constraint=models.UniqueConstraint(fields=('entry', 'category'), name='seu_ledger_allocation_one_per_category'),
        ),
        migrations.AddConstraint(
            model_name='allocation',
            constraint=models.CheckConstraint(condition=models.Q(('hours__gt', 0), ('hours__lte', Decimal('1000'))), name='seu_ledger_allocation_hours_positive'),
        ),
        migrations.AddConstraint(
            model_name='allocation',
            constraint=models.CheckConstraint(condition=models.Q(('hours', django.db.models.expressions.CombinedExpression(django.db.models.functions.math.Floor(django.db.models.expressions.CombinedExpression(models.F('hours'), '*', models.Value(4))), '*', models.Value(Decimal('0.25'))))), name='seu_ledger_allocation_hours_in_quarters'),
        ),
        migrations.AddConstraint(
            model_name='carriedunits',
            constraint=models.UniqueConstraint(fields=('renewal', 'entry', 'category'), name='seu_ledger_carried_once'),
        ),
        migrations.AddConstraint(
            model_name='carriedunits',
            constraint=models.CheckConstraint(condition=models.Q(('units__gt', 0)), name='seu_ledger_carried_units_positive'),
        ),
        migrations.AddConstraint(
            model_name='ruleversion',
            constraint=models.UniqueConstraint(fields=('program', 'effective_from'), name='seu_ledger_rules_one_per_program_day'),
        ),
        migrations.AddConstraint(
            model_name='ruleversion',
            constraint=models.CheckConstraint(condition=models.Q(('units_required__gte', 0)), name='seu_ledger_rules_units_required_not_negative'),
        ),
        migrations.AddConstraint(
            model_name='ruleversion',
            constraint=models.CheckConstraint(condition=models.Q(('daily_unit_cap__isnull', True), ('daily_unit_cap__gt', 0), _connector='OR'), name='seu_ledger_rules_daily_cap_positive'),
        ),
        migrations.AddConstraint(
            model_name='ruleversion',
            constraint=models.CheckConstraint(condition=models.Q(('carry_over_max__isnull', True), ('carry_over_max__gte', 0), _connector='OR'), name='seu_ledger_rules_carry_over_not_negative'),
        ),
        migrations.AddConstraint(
            model_name='ruleversion',
            constraint=models.CheckConstraint(condition=models.Q(('lookback_months__gt', 0)), name='seu_ledger_rules_lookback_positive'),
        ),
        migrations.AddConstraint(
            model_name='categorylimit',
            constraint=models.UniqueConstraint(fields=('rule_version', 'category'), name='seu_ledger_limit_one_per_category'),
        ),
        migrations.AddConstraint(
            model_name='categorylimit',
            constraint=models.CheckConstraint(condition=models.Q(('min_units__isnull', True), ('max_units__isnull', True), ('min_units__lte', models.F('max_units')), _connector='OR'), name='seu_ledger_limit_min_not_above_max'),
        ),
        migrations.AddConstraint(
            model_name='categorylimit',
            constraint=models.CheckConstraint(condition=models.Q(('max_units__isnull', True), ('min_units__isnull', True), _negated=True), name='seu_ledger_limit_has_a_bound'),
        ),
    ]
