"""Programs keep what is theirs (term, after-the-end period, fee, reminders); the renewal
counting rules moved to the ledger's rule versions (seu_ledger 0007 copied them first)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('credentials', '0010_account_states_and_canonical_email'),
        ('seu_ledger', '0007_rule_versions_allocations_carry_over'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='program',
            name='credentials_program_units_required_not_negative',
        ),
        migrations.RemoveConstraint(
            model_name='program',
            name='credentials_program_daily_cap_positive',
        ),
        migrations.RemoveField(
            model_name='program',
            name='combined_addon_units',
        ),
        migrations.RemoveField(
            model_name='program',
            name='daily_unit_cap',
        ),
        migrations.RemoveField(
            model_name='program',
            name='lookback_months',
        ),
        migrations.RemoveField(
            model_name='program',
            name='units_required',
        ),
        migrations.AddField(
            model_name='program',
            name='after_end_name',
            field=models.CharField(default='grace period', help_text="What the issuer calls those days, in a sentence: 'grace period', 'suspension'.", max_length=30),
        ),
        migrations.AddField(
            model_name='program',
            name='after_end_status',
            field=models.CharField(default='In grace', help_text="The status shown during those days: 'In grace', 'Suspended'.", max_length=30),
        ),
        migrations.AddField(
            model_name='program',
            name='lapse_is_final',
            field=models.BooleanField(default=False, help_text="After those days the credential cannot be renewed any more; only the issuer's examination restores it (PMI)."),
        ),
        migrations.AddField(
            model_name='program',
            name='valid_after_end',
            field=models.BooleanField(default=True, help_text="The credential counts as valid during those days (PMI's suspension: no)."),
        ),
        migrations.AlterField(
            model_name='program',
            name='grace_days',
            field=models.PositiveSmallIntegerField(default=0, help_text='Days after the end during which the credential can still be renewed (Scrum Alliance CSP: 90 days of grace; PMI: one year of suspension).'),
        ),
    ]
