"""The SEU/PDU ledger: categories, logged activities, fees and renewals.

The ledger refers to credentials; credentials never refer to the ledger.
"""

import datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models.functions import Floor
from simple_history.models import HistoricalRecords

from credentials.models import Credential, Issuer, Program, Term

MAX_ENTRY_HOURS = Decimal(1000)


class Category(models.Model):
    """A kind of activity as one issuer names it (Learning, Events, Education, Giving Back...)."""

    issuer = models.ForeignKey(Issuer, on_delete=models.PROTECT, related_name="categories")
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=80)
    description = models.CharField(max_length=300, blank=True)
    counts_as = models.ManyToManyField(
        "self",
        symmetrical=False,
        through="CategoryMapping",
        related_name="counted_from",
        blank=True,
        help_text="Categories of other issuers that an activity in this one also counts under.",
    )

    class Meta:
        ordering = ["issuer__name", "name"]
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(
                fields=["issuer", "code"], name="seu_ledger_category_code_per_issuer"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.issuer.name})"


class CategoryMapping(models.Model):
    """An activity logged under `source` also counts, for `target`'s issuer, under `target`."""

    source = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="mappings")
    target = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="mapped_from")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "target"], name="seu_ledger_category_mapping_unique"
            ),
            models.CheckConstraint(
                condition=~models.Q(source=models.F("target")),
                name="seu_ledger_category_mapping_not_to_itself",
            ),
        ]

    def __str__(self):
        return f"{self.source} counts as {self.target}"

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.source_id and self.target_id:
            if self.source.issuer_id == self.target.issuer_id:
                raise ValidationError({"target": "Map to a category of another issuer."})
            clash = CategoryMapping.objects.filter(
                source=self.source, target__issuer=self.target.issuer
            ).exclude(pk=self.pk)
            if clash.exists():
                raise ValidationError(
                    {"target": f"{self.source} already counts as a {self.target.issuer} category."}
                )


class ProgramCategoryRule(models.Model):
    """A per-category minimum or maximum for renewing a program (PMI: Education >= 18)."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="category_rules")
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="program_rules")
    min_units = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    max_units = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["program", "category"], name="seu_ledger_rule_one_per_program_category"
            ),
            models.CheckConstraint(
                condition=models.Q(min_units__isnull=True)
                | models.Q(max_units__isnull=True)
                | models.Q(min_units__lte=models.F("max_units")),
                name="seu_ledger_rule_min_not_above_max",
            ),
        ]

    def __str__(self):
        parts = []
        if self.min_units is not None:
            parts.append(f">= {self.min_units}")
        if self.max_units is not None:
            parts.append(f"<= {self.max_units}")
        return f"{self.program.code}: {self.category.name} {' and '.join(parts)}"


def evidence_path(entry, filename):
    return f"evidence/{entry.holder_id}/{filename}"


class Entry(models.Model):
    """One logged activity. Never deleted: voided with a reason, and consumed by renewals."""

    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="entries"
    )
    activity_date = models.DateField()
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="entries")
    title = models.CharField(max_length=200)
    provider = models.CharField(max_length=200, blank=True)
    hours = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        help_text="One hour is one unit, in steps of 0.25.",
    )
    description = models.TextField(blank=True)
    evidence = models.FileField(upload_to=evidence_path, blank=True, max_length=300)
    source_course = models.ForeignKey(
        "credentials.Course",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="ledger_entries",
        help_text="The course these hours came from; they never renew the credential it earned.",
    )
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-activity_date", "-pk"]
        verbose_name_plural = "entries"
        indexes = [models.Index(fields=["holder", "activity_date"], name="seu_entry_holder_date")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(hours__gt=0) & models.Q(hours__lte=MAX_ENTRY_HOURS),
                name="seu_ledger_entry_hours_positive_and_sane",
            ),
            models.CheckConstraint(
                condition=models.Q(hours=Floor(models.F("hours") * 4) * Decimal("0.25")),
                name="seu_ledger_entry_hours_quarter_steps",
            ),
            models.CheckConstraint(
                condition=models.Q(voided_at__isnull=True) | ~models.Q(void_reason=""),
                name="seu_ledger_entry_void_has_reason",
            ),
            models.UniqueConstraint(
                fields=["holder", "source_course", "activity_date"],
                condition=models.Q(source_course__isnull=False, voided_at__isnull=True),
                name="seu_ledger_entry_one_live_per_course_day",
            ),
        ]

    def __str__(self):
        return f"{self.activity_date.isoformat()} {self.title} ({self.hours} h)"

    @property
    def is_voided(self) -> bool:
        return self.voided_at is not None


class Fee(models.Model):
    """The renewal fee for one renewal: of a credential, or of a holder's combined group."""

    class Status(models.TextChoices):
        DUE = "due", "Due"
        SUBMITTED = "submitted", "Paid, awaiting confirmation"
        PAID = "paid", "Paid"
        WAIVED = "waived", "Waived"

    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="fees"
    )
    issuer = models.ForeignKey(Issuer, on_delete=models.PROTECT, related_name="fees")
    credential = models.ForeignKey(
        Credential,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="fees",
        help_text="Empty for a combined renewal of all the holder's credentials of the issuer.",
    )
    period_ends_on = models.DateField(help_text="End of the term(s) this fee renews.")
    description = models.CharField(max_length=200, help_text="What the fee is for.")
    amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    status = models.CharField(max_length=10, choices=Status, default=Status.DUE)
    reference = models.CharField(
        max_length=120, blank=True, help_text="Receipt or transaction reference from the issuer."
    )
    note = models.CharField(max_length=300, blank=True, help_text="Why it was waived, etc.")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="fees_recorded",
    )
    recorded_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-period_ends_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["credential", "period_ends_on"],
                condition=models.Q(credential__isnull=False),
                name="seu_ledger_fee_one_per_credential_period",
            ),
            models.UniqueConstraint(
                fields=["holder", "issuer", "period_ends_on"],
                condition=models.Q(credential__isnull=True),
                name="seu_ledger_fee_one_per_group_period",
            ),
            models.CheckConstraint(
                condition=models.Q(amount__isnull=True) | models.Q(amount__gte=0),
                name="seu_ledger_fee_amount_not_negative",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="waived") | ~models.Q(note=""),
                name="seu_ledger_fee_waiver_has_reason",
            ),
        ]

    def __str__(self):
        return f"{self.description}: {self.get_status_display()}"

    @property
    def is_settled(self) -> bool:
        return self.status in (self.Status.PAID, self.Status.WAIVED)


class Renewal(models.Model):
    """One term closed by a renewal: the next term it opened and the entries it consumed.

    A combined renewal writes one row per credential, sharing the fee and the entries.
    """

    closed_term = models.OneToOneField(Term, on_delete=models.PROTECT, related_name="renewal")
    new_term = models.OneToOneField(Term, on_delete=models.PROTECT, related_name="renewed_from")
    entries = models.ManyToManyField(Entry, related_name="renewals", blank=True)
    fee = models.ForeignKey(Fee, on_delete=models.PROTECT, null=True, blank=True)
    units_counted = models.DecimalField(max_digits=8, decimal_places=2)
    units_required = models.DecimalField(max_digits=8, decimal_places=2)
    renewed_on = models.DateField()
    renewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-renewed_on"]

    def __str__(self):
        return f"Renewal of {self.closed_term}"


class Reminder(models.Model):
    """One reminder about one term at one point of its program's schedule.

    `days_before` is the point (90, 60, 30, 7 days before the end, 0 on the last day, negative
    weekly during grace). The row is written before any email goes out, and the database holds
    at most one per (term, end date, point): that, not a cache, is what stops a second send.
    """

    class Kind(models.TextChoices):
        EXPIRY_APPROACHING = "expiry_approaching", "Expiry approaching"
        UNITS_SHORT = "units_short", "Units short"
        FEE_UNPAID = "fee_unpaid", "Fee unpaid"
        EXPIRY_DAY = "expiry_day", "Expires today"
        IN_GRACE = "in_grace", "Expired or in grace"

    class Status(models.TextChoices):
        DUE = "due", "Due"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed, will be retried"
        SKIPPED = "skipped", "Not sent"

    ESSENTIAL_KINDS = (Kind.EXPIRY_DAY, Kind.IN_GRACE)

    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminders"
    )
    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="reminders")
    days_before = models.SmallIntegerField(
        help_text="The point of the schedule: days before the end (negative: after it)."
    )
    term_ends_on = models.DateField(help_text="The term's end date when the reminder fell due.")
    kind = models.CharField(max_length=20, choices=Kind)
    status = models.CharField(max_length=10, choices=Status, default=Status.DUE)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    skip_reason = models.CharField(max_length=200, blank=True)
    claim_token = models.CharField(max_length=32, blank=True, editable=False)
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "holder", "term"]
        indexes = [models.Index(fields=["status", "holder"], name="seu_reminder_status_holder")]
        constraints = [
            # The end date is part of the key: when a corrected roster or an alignment moves
            # a term's end, its schedule starts again from the new date.
            models.UniqueConstraint(
                fields=["term", "term_ends_on", "days_before"],
                name="seu_ledger_reminder_once_per_term_end_point",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} to {self.holder} ({self.point_label})"

    @property
    def due_on(self):
        return self.term_ends_on - datetime.timedelta(days=self.days_before)

    @property
    def point_label(self) -> str:
        if self.days_before > 0:
            return f"{self.days_before} days before the end"
        if self.days_before == 0:
            return "on the last day"
        return f"{-self.days_before} days after the end"
