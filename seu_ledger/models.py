"""The SEU/PDU ledger: categories, logged activities, fees and renewals.

The ledger refers to credentials; credentials never refer to the ledger.
"""

import datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models.functions import Floor
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from credentials.models import Credential, Issuer, Program, Term
from cspo_tracker import formats

MAX_ENTRY_HOURS = Decimal(1000)


class Category(models.Model):
    """A kind of activity as one issuer names it (Learning, Events, Education, Giving Back...).

    Categories nest: PMI's Talent Triangle skill areas sit inside Education, and working as a
    practitioner, volunteering and creating knowledge inside Giving Back. A minimum or maximum
    on a category limits its whole subtree.
    """

    issuer = models.ForeignKey(Issuer, on_delete=models.PROTECT, related_name="categories")
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        help_text=_("The broader category this one belongs to (of the same issuer)."),
    )
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=80)
    description = models.CharField(max_length=300, blank=True)
    counts_as = models.ManyToManyField(
        "self",
        symmetrical=False,
        through="CategoryMapping",
        related_name="counted_from",
        blank=True,
        help_text=_("Categories of other issuers that an activity in this one also counts under."),
    )

    class Meta:
        ordering = ["issuer__name", "name"]
        verbose_name_plural = _("categories")
        constraints = [
            models.UniqueConstraint(
                fields=["issuer", "code"], name="seu_ledger_category_code_per_issuer"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.issuer.name})"

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.parent_id is None:
            return
        if self.parent.issuer_id != self.issuer_id:
            raise ValidationError(
                {"parent": gettext("A category's parent belongs to the same issuer.")}
            )
        node = self.parent
        while node is not None:
            if node.pk == self.pk:
                raise ValidationError({"parent": gettext("A category cannot sit inside itself.")})
            node = node.parent


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
        return gettext("{source} counts as {target}").format(source=self.source, target=self.target)

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.source_id and self.target_id:
            if self.source.issuer_id == self.target.issuer_id:
                raise ValidationError({"target": gettext("Map to a category of another issuer.")})
            clash = CategoryMapping.objects.filter(
                source=self.source, target__issuer=self.target.issuer
            ).exclude(pk=self.pk)
            if clash.exists():
                raise ValidationError(
                    {
                        "target": gettext("{source} already counts as a {issuer} category.").format(
                            source=self.source, issuer=self.target.issuer
                        )
                    }
                )


class RuleVersion(models.Model):
    """A program's renewal rules from a date on: what a term is judged by.

    A term is judged by the version in force on its start date; a version marked as applying
    to running terms also judges terms that started before it and end on or after it, once
    its date has come. Completed renewals keep the figures they were judged by.
    """

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="rule_versions")
    effective_from = models.DateField(help_text=_("The first day these rules are in force."))
    applies_to_running_terms = models.BooleanField(
        default=False,
        help_text=_(
            "Also judge terms that started before this date and end on or after it "
            "(as the issuer says for its change). Off: only terms starting from this date."
        ),
    )
    units_required = models.DecimalField(
        max_digits=6, decimal_places=2, help_text=_("Units needed to renew one term.")
    )
    lookback_months = models.PositiveSmallIntegerField(
        default=24,
        help_text=_(
            "Units dated within this many months before the term's end count "
            "(Scrum Alliance: 30; PMI: the 36-month cycle)."
        ),
    )
    daily_unit_cap = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Most units that count per calendar day (Scrum Alliance: 8). Empty: no cap."),
    )
    combined_addon_units = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        default=0,
        help_text=_("Units this credential adds to a combined renewal when it tops another track."),
    )
    units_after_end_count = models.BooleanField(
        default=False,
        help_text=_(
            "Units dated after the term's end, up to the renewal, count toward it "
            "(PMI, during suspension)."
        ),
    )
    carry_over_max = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_(
            "Units earned in the cycle's last months beyond what the renewal needs carry "
            "over to the next cycle, up to this many (PMP: 20). Empty: nothing carries over."
        ),
    )
    carry_over_months = models.PositiveSmallIntegerField(
        default=12, help_text=_("The last months of a cycle whose extra units may carry over.")
    )
    source = models.CharField(
        max_length=300, blank=True, help_text=_("Where the issuer publishes these rules.")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["program", "effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "effective_from"], name="seu_ledger_rules_one_per_program_day"
            ),
            models.CheckConstraint(
                condition=models.Q(units_required__gte=0),
                name="seu_ledger_rules_units_required_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(daily_unit_cap__isnull=True) | models.Q(daily_unit_cap__gt=0),
                name="seu_ledger_rules_daily_cap_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(carry_over_max__isnull=True) | models.Q(carry_over_max__gte=0),
                name="seu_ledger_rules_carry_over_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(lookback_months__gt=0),
                name="seu_ledger_rules_lookback_positive",
            ),
        ]

    def __str__(self):
        return gettext("{program} rules from {day}").format(
            program=self.program.code, day=formats.day(self.effective_from)
        )


class CategoryLimit(models.Model):
    """A minimum or maximum of units in a category (and everything inside it) for renewing
    under one rule version (PMI-ACP: Education >= 18; Giving Back <= 12)."""

    rule_version = models.ForeignKey(RuleVersion, on_delete=models.CASCADE, related_name="limits")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="limits")
    min_units = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    max_units = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["rule_version", "category__parent_id", "category__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule_version", "category"], name="seu_ledger_limit_one_per_category"
            ),
            models.CheckConstraint(
                condition=models.Q(min_units__isnull=True)
                | models.Q(max_units__isnull=True)
                | models.Q(min_units__lte=models.F("max_units")),
                name="seu_ledger_limit_min_not_above_max",
            ),
            models.CheckConstraint(
                condition=~models.Q(min_units__isnull=True, max_units__isnull=True),
                name="seu_ledger_limit_has_a_bound",
            ),
        ]

    def __str__(self):
        name = self.category.name
        if self.min_units is not None and self.max_units is not None:
            return gettext("{category} >= {minimum} and <= {maximum}").format(
                category=name,
                minimum=f"{self.min_units.normalize():f}",
                maximum=f"{self.max_units.normalize():f}",
            )
        if self.min_units is not None:
            return f"{name} >= {self.min_units.normalize():f}"
        if self.max_units is not None:
            return f"{name} <= {self.max_units.normalize():f}"
        return f"{name} "


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
        help_text=_("One hour is one unit, in steps of 0.25."),
    )
    description = models.TextField(blank=True)
    evidence = models.FileField(upload_to=evidence_path, blank=True, max_length=300)
    source_course = models.ForeignKey(
        "credentials.Course",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="ledger_entries",
        help_text=_("The course these hours came from; they never renew the credential it earned."),
    )
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-activity_date", "-pk"]
        verbose_name_plural = _("entries")
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
        # Translators: an activity in lists: its date, its title and its hours ("h").
        return gettext("{day} {title} ({hours} h)").format(
            day=formats.day(self.activity_date), title=self.title, hours=formats.units(self.hours)
        )

    @property
    def is_voided(self) -> bool:
        return self.voided_at is not None

    @property
    def is_course_record(self) -> bool:
        """Course hours recorded from a trainer's roster: staff correct them, not the holder
        (pages offer no Edit or Void for them)."""
        return self.source_course_id is not None

    @property
    def evidence_filename(self) -> str:
        """The name the evidence file is shown and downloaded under (the stored name is
        random, and the holder's own file name is not kept)."""
        if not self.evidence:
            return ""
        return f"evidence-{self.pk}.{self.evidence.name.rsplit('.', 1)[-1]}"


class Allocation(models.Model):
    """Hours of an entry placed in one category of one issuer: how the activity counts for
    that issuer (PMI: 3 hours Ways of Working, 5 Power Skills). An entry's allocations for one
    issuer add up to its hours; with none stored for an issuer, all its hours count under its
    own category or the category it maps to."""

    entry = models.ForeignKey("Entry", on_delete=models.CASCADE, related_name="allocations")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="allocations")
    hours = models.DecimalField(max_digits=6, decimal_places=2)
    history = HistoricalRecords()

    class Meta:
        ordering = ["entry", "category__issuer__name", "category__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["entry", "category"], name="seu_ledger_allocation_one_per_category"
            ),
            models.CheckConstraint(
                condition=models.Q(hours__gt=0) & models.Q(hours__lte=MAX_ENTRY_HOURS),
                name="seu_ledger_allocation_hours_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(hours=Floor(models.F("hours") * 4) * Decimal("0.25")),
                name="seu_ledger_allocation_hours_in_quarters",
            ),
        ]

    def __str__(self):
        return gettext("{hours} h of {entry} as {category}").format(
            hours=f"{self.hours.normalize():f}", entry=self.entry, category=self.category.name
        )


class Fee(models.Model):
    """The renewal fee for one renewal: of a credential, or of a holder's combined group."""

    class Status(models.TextChoices):
        DUE = "due", _("Due")
        SUBMITTED = "submitted", _("Paid, awaiting confirmation")
        PAID = "paid", _("Paid")
        WAIVED = "waived", _("Waived")

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
        help_text=_("Empty for a combined renewal of all the holder's credentials of the issuer."),
    )
    period_ends_on = models.DateField(help_text=_("End of the term(s) this fee renews."))
    description = models.CharField(max_length=200, help_text=_("What the fee is for."))
    amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    status = models.CharField(max_length=10, choices=Status, default=Status.DUE)
    reference = models.CharField(
        max_length=120, blank=True, help_text=_("Receipt or transaction reference from the issuer.")
    )
    note = models.CharField(max_length=300, blank=True, help_text=_("Why it was waived, etc."))
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
    rule_version = models.ForeignKey(
        RuleVersion,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="renewals",
        help_text=_("The rules the renewal was judged by (empty for renewals before versions)."),
    )
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
        return gettext("Renewal of {term}").format(term=self.closed_term)


class CarriedUnits(models.Model):
    """Units of an entry that a renewal did not need and carried over to the next cycle, in
    the category they counted under (PMI: up to 20 PDU for PMP). They count toward the next
    renewal of the same credential, once."""

    renewal = models.ForeignKey(Renewal, on_delete=models.CASCADE, related_name="carried_units")
    entry = models.ForeignKey(Entry, on_delete=models.PROTECT, related_name="carried_units")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="+")
    units = models.DecimalField(max_digits=6, decimal_places=2)

    class Meta:
        verbose_name_plural = _("carried units")
        constraints = [
            models.UniqueConstraint(
                fields=["renewal", "entry", "category"], name="seu_ledger_carried_once"
            ),
            models.CheckConstraint(
                condition=models.Q(units__gt=0), name="seu_ledger_carried_units_positive"
            ),
        ]

    def __str__(self):
        return gettext("{units} carried over from {entry}").format(
            units=f"{self.units.normalize():f}", entry=self.entry
        )


class Reminder(models.Model):
    """One reminder about one term at one point of its program's schedule.

    `days_before` is the point (90, 60, 30, 7 days before the end, 0 on the last day, negative
    weekly during grace). The row is written before any email goes out, and the database holds
    at most one per (term, end date, point): that, not a cache, is what stops a second send.
    """

    class Kind(models.TextChoices):
        EXPIRY_APPROACHING = "expiry_approaching", _("Expiry approaching")
        UNITS_SHORT = "units_short", _("Units short")
        FEE_UNPAID = "fee_unpaid", _("Fee unpaid")
        EXPIRY_DAY = "expiry_day", _("Expires today")
        IN_GRACE = "in_grace", _("In grace or suspension")
        EXPIRED = "expired", _("Expired: how to reinstate")

    class Status(models.TextChoices):
        DUE = "due", _("Due")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed, will be retried")
        SKIPPED = "skipped", _("Not sent")

    ESSENTIAL_KINDS = (Kind.EXPIRY_DAY, Kind.IN_GRACE, Kind.EXPIRED)

    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminders"
    )
    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="reminders")
    days_before = models.SmallIntegerField(
        help_text=_("The point of the schedule: days before the end (negative: after it).")
    )
    term_ends_on = models.DateField(help_text=_("The term's end date when the reminder fell due."))
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
        # Translators: a reminder in lists: its kind, the holder, and when it fell due.
        return gettext("{kind} to {holder} ({point})").format(
            kind=self.get_kind_display(), holder=self.holder, point=self.point_label
        )

    @property
    def due_on(self):
        return self.term_ends_on - datetime.timedelta(days=self.days_before)

    @property
    def point_label(self) -> str:
        days = abs(self.days_before)
        if self.days_before > 0:
            return ngettext(
                "{count} day before the end", "{count} days before the end", days
            ).format(count=days)
        if self.days_before == 0:
            return gettext("on the last day")
        if self.kind == self.Kind.EXPIRED:
            return gettext("on expiry")
        return ngettext("{count} day after the end", "{count} days after the end", days).format(
            count=days
        )
