"""Staff screens for the ledger, fees and renewals; adds ledger columns to credentials."""

from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from credentials.admin import CredentialAdmin, ProgramAdmin, UserAdmin
from credentials.forms import CanonicalEmailField
from credentials.models import Credential, Program, User
from credentials.selectors import today
from cspo_tracker.emails import email_render
from cspo_tracker.history import AuditedAdmin, AuditTrailAdmin
from cspo_tracker.locale import reading_as
from cspo_tracker.staff import ActionPermissionMixin, LabelledTabularInline, ReadOnlyAdminMixin
from cspo_tracker.zones import local_date

from .models import (
    Category,
    CategoryLimit,
    CategoryMapping,
    Entry,
    Fee,
    Reminder,
    Renewal,
    RuleVersion,
)
from .reminders.selectors import reminder_preview
from .reminders.services import REMINDER_TEMPLATE
from .selectors import (
    fmt_units,
    group_requirements,
    holder_ledgers,
    renewal_requirements,
    rules_in_words,
)
from .services import (
    ENTRY_FIELDS,
    entry_check,
    entry_edit,
    entry_lock_reason,
    entry_log,
    entry_void,
    fee_confirm,
    fee_record,
    fee_waive,
)


class CategoryChoices:
    """A category names its issuer ("Learning (Scrum Alliance)"): category selects load the
    issuers with the categories, not one query per option."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Category and "queryset" not in kwargs:
            kwargs["queryset"] = Category.objects.select_related("issuer")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class CategoryFilter(admin.RelatedFieldListFilter):
    """Filter by category, the categories named with their issuers in one query."""

    def field_choices(self, field, request, model_admin):
        return [
            (category.pk, str(category)) for category in Category.objects.select_related("issuer")
        ]


class CategoryMappingInline(CategoryChoices, LabelledTabularInline):
    model = CategoryMapping
    fk_name = "source"
    extra = 0
    verbose_name = _("also counts as")
    verbose_name_plural = _("also counts as")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("target__issuer")  # each row's title


@admin.register(Category)
class CategoryAdmin(CategoryChoices, admin.ModelAdmin):
    list_display = ("name", "parent", "issuer", "code")
    list_filter = ("issuer",)
    list_select_related = ("issuer", "parent__issuer")
    search_fields = ("name", "code")
    inlines = [CategoryMappingInline]


class CategoryLimitInline(CategoryChoices, LabelledTabularInline):
    model = CategoryLimit
    extra = 0
    verbose_name = _("category minimum or maximum")
    verbose_name_plural = _(
        "category minimums and maximums (a limit covers the category's subtree)"
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("category")  # each row's title


@admin.register(RuleVersion)
class RuleVersionAdmin(admin.ModelAdmin):
    """A program's renewal rules from a date. A version a renewal was judged by is kept as it
    was: rules that change get a new version."""

    list_display = (
        "program",
        "effective_from",
        "applies_to_running_terms",
        "units_required",
        "lookback_months",
        "daily_unit_cap",
        "carry_over_max",
    )
    list_filter = ("program__issuer", "program")
    list_select_related = ("program",)
    readonly_fields = ("in_words",)
    inlines = [CategoryLimitInline]
    fieldsets = (
        (None, {"fields": ("program", "effective_from", "applies_to_running_terms", "source")}),
        (
            _("Units"),
            {
                "fields": (
                    "units_required",
                    "lookback_months",
                    "daily_unit_cap",
                    "combined_addon_units",
                    "units_after_end_count",
                )
            },
        ),
        (_("Carry-over"), {"fields": ("carry_over_max", "carry_over_months")}),
        (_("In words"), {"fields": ("in_words",)}),
    )

    @admin.display(description=_("These rules in words"))
    def in_words(self, version):
        if not version.pk:
            return "-"
        return format_html_join("", "<p>{}</p>", ((line,) for line in rules_in_words(version)))

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.renewals.exists():
            return False  # renewals were judged by it: add a new version instead
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.renewals.exists():
            return False
        return super().has_delete_permission(request, obj)


class VoidedFilter(admin.SimpleListFilter):
    title = _("voided")
    parameter_name = "voided"

    def lookups(self, request, model_admin):
        return [("no", gettext("Live")), ("yes", gettext("Voided"))]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(voided_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(voided_at__isnull=False)
        return queryset


class EntryAdminForm(forms.ModelForm):
    """Staff correct an entry under the same rules as the holder: the ledger service checks
    the values, and refuses an entry that is voided or that a renewal consumed."""

    class Meta:
        model = Entry
        fields = ("holder", *(name for name in ENTRY_FIELDS if name != "evidence"))

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk:
            reason = entry_lock_reason(self.instance)
            if reason:
                raise forms.ValidationError(reason)
        return cleaned

    def _post_clean(self):
        super()._post_clean()
        try:
            entry_check(self.instance)
        except ValidationError as error:
            self._update_errors(error)


class VoidEntryForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=300, help_text=_("Kept with the entry and in its history.")
    )


@admin.register(Entry)
class EntryAdmin(CategoryChoices, ActionPermissionMixin, AuditedAdmin):
    """Entries are logged, corrected and voided through the ledger service, as on the
    holder's pages: a consumed or voided entry is read-only here too."""

    form = EntryAdminForm
    list_display = ("activity_date", "holder", "title", "category", "hours", "voided_at")
    list_filter = (VoidedFilter, "category__issuer", ("category", CategoryFilter), "activity_date")
    search_fields = ("title", "provider", "holder__email")
    list_select_related = ("holder", "category__issuer")
    date_hierarchy = "activity_date"
    autocomplete_fields = ("holder",)
    readonly_fields = (
        "evidence_file",
        "voided_at",
        "void_reason",
        "created_at",
        "updated_at",
        "source_course",
    )
    actions = ["void_entries"]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return fields if obj is None else ("holder", *fields)  # an entry stays its holder's

    def has_change_permission(self, request, obj=None):
        if obj is not None and entry_lock_reason(obj):
            return False  # voided or consumed: shown read-only, and history cannot revert it
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        values = {
            name: form.cleaned_data[name] for name in form.cleaned_data if name in ENTRY_FIELDS
        }
        if change:
            entry_edit(entry=obj, corrected_by_staff=True, **values)
        else:
            obj.pk = entry_log(holder=form.cleaned_data["holder"], **values).pk

    @admin.action(description=_("Void selected entries (asks why)"), permissions=["change"])
    def void_entries(self, request, queryset):
        return asking_action(
            self,
            request,
            queryset,
            form_class=VoidEntryForm,
            title=gettext("Void entries"),
            apply=lambda entry, data: entry_void(
                entry=entry, reason=data["reason"], corrected_by_staff=True
            ),
            done=lambda count: ngettext(
                "Void entries: {count} entries.", "Void entries: {count} entries.", count
            ),
        )

    @admin.display(description=_("Evidence"))
    def evidence_file(self, entry):
        if not entry.evidence:
            return "-"
        # Served by a view that checks the viewer; there is no public media URL.
        url = reverse("ledger:entry_evidence", args=[entry.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Open the evidence file"))

    def has_delete_permission(self, request, obj=None):
        return False  # entries are voided with a reason, never deleted


class WaiveForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        help_text=_("Kept with the fee and in its history, e.g. 'Trainer voucher'."),
    )


class RecordPaidForm(forms.Form):
    reference = forms.CharField(
        label=_("Reference"),
        max_length=120,
        required=False,
        help_text=_("Receipt or transaction reference, if any."),
    )


def asking_action(modeladmin, request, queryset, *, form_class, title, apply, done):
    """An admin action that first asks for a reason or reference on an intermediate page,
    then applies `apply(obj, form)` to each selected row, reporting each refusal. `done(n)`:
    the message for n rows done, with a {count} placeholder."""
    form = form_class(request.POST if "apply" in request.POST else None)
    if not form.is_valid():
        return TemplateResponse(
            request,
            "admin/seu_ledger/fee_action.html",
            {
                **modeladmin.admin_site.each_context(request),
                "title": title,
                "opts": modeladmin.model._meta,
                "form": form,
                "queryset": queryset,
                "action": request.POST.get("action"),
            },
        )
    applied, refused = set(), []
    for obj in queryset:
        try:
            # Two credentials of one combined group share a fee: it counts once.
            applied.add(apply(obj, form.cleaned_data).pk)
        except ValidationError as error:
            refused.append(f"{obj}: {' '.join(error.messages)}")
    if applied:
        count = len(applied)
        modeladmin.message_user(request, done(count).format(count=count), messages.SUCCESS)
    for message in refused:
        modeladmin.message_user(request, message, messages.ERROR)
    return None


@admin.register(Fee)
class FeeAdmin(ActionPermissionMixin, AuditedAdmin):
    list_display = (
        "description",
        "holder",
        "amount",
        "currency",
        "status",
        "reference",
        "recorded_by",
    )
    list_filter = ("status", "issuer")
    search_fields = ("holder__email", "reference", "description")
    list_select_related = ("holder", "recorded_by", "issuer")
    readonly_fields = ("recorded_by", "recorded_at")
    autocomplete_fields = ("holder", "credential")
    actions = ["confirm_paid", "waive"]

    @admin.action(description=_("Waive selected fees (asks why)"), permissions=["change"])
    def waive(self, request, queryset):
        return asking_action(
            self,
            request,
            queryset,
            form_class=WaiveForm,
            title=gettext("Waive fees"),
            apply=lambda fee, data: fee_waive(
                fee=fee, recorded_by=request.user, reason=data["reason"]
            ),
            done=lambda count: ngettext(
                "Waive fees: {count} fee(s).", "Waive fees: {count} fee(s).", count
            ),
        )

    @admin.action(description=_("Confirm selected fees as paid"), permissions=["change"])
    def confirm_paid(self, request, queryset):
        confirmed, refused = 0, []
        for fee in queryset:
            try:
                fee_confirm(fee=fee, recorded_by=request.user)
            except ValidationError as error:
                refused.append(f"{fee}: {' '.join(error.messages)}")
            else:
                confirmed += 1
        if confirmed:
            self.message_user(
                request,
                ngettext(
                    "Confirmed {count} fee(s) as paid.",
                    "Confirmed {count} fee(s) as paid.",
                    confirmed,
                ).format(count=confirmed),
                messages.SUCCESS,
            )
        for message in refused:
            self.message_user(request, message, messages.ERROR)

    def save_model(self, request, obj, form, change):
        if "status" in form.changed_data:
            obj.recorded_by = request.user
            obj.recorded_at = timezone.now()
        super().save_model(request, obj, form, change)


@admin.register(Renewal)
class RenewalAdmin(admin.ModelAdmin):
    list_display = ("closed_term", "new_term", "renewed_on", "units_counted", "units_required")
    # A term names its credential's program and holder.
    list_select_related = (
        "closed_term__credential__program",
        "closed_term__credential__holder",
        "new_term__credential__program",
        "new_term__credential__holder",
    )
    search_fields = ("closed_term__credential__holder__email",)
    readonly_fields = [field.name for field in Renewal._meta.get_fields() if field.concrete]
    date_hierarchy = "renewed_on"

    def has_add_permission(self, request):
        return False  # renewals come from credential_renew, which keeps them all-or-nothing

    def has_delete_permission(self, request, obj=None):
        return False


class EntryInline(LabelledTabularInline):
    model = Entry
    fk_name = "holder"
    extra = 0
    can_delete = False  # entries are voided with a reason, never deleted
    fields = ("activity_date", "category", "title", "hours", "voided_at")
    readonly_fields = fields
    show_change_link = True
    ordering = ("-activity_date",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("category__issuer")

    def has_add_permission(self, request, obj=None):
        return False


admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class HolderAdmin(UserAdmin):
    inlines = [*UserAdmin.inlines, EntryInline]
    actions = [*UserAdmin.actions, "preview_reminder"]

    @admin.action(
        description=_("Preview the reminder email they would get today"), permissions=["view"]
    )
    def preview_reminder(self, request, queryset):
        holder = queryset.order_by("pk").first()
        url = reverse("admin:seu_ledger_reminder_preview")
        return redirect(f"{url}?{urlencode({'holder': holder.email})}")


class ReminderPreviewForm(forms.Form):
    holder = CanonicalEmailField(label=_("Holder's email"))
    on = forms.DateField(
        label=_("As on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def clean_holder(self):
        email = self.cleaned_data["holder"]
        holder = User.objects.filter(email=email).first()
        if holder is None:
            raise ValidationError(gettext("No one signs in with {email}.").format(email=email))
        return holder


@admin.register(Reminder)
class ReminderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every reminder: due, sent, failed (with the mail server's answer) or not sent (why)."""

    list_display = (
        "holder",
        "credential",
        "point",
        "due_on",
        "kind",
        "status",
        "attempts",
        "sent_at",
        "problem",
    )
    list_filter = ("status", "kind", "term__credential__program")
    list_select_related = ("holder", "term__credential__program")
    search_fields = ("holder__email", "holder__last_name")
    date_hierarchy = "created_at"
    readonly_fields = (
        "holder",
        "term",
        "days_before",
        "term_ends_on",
        "kind",
        "status",
        "attempts",
        "last_error",
        "skip_reason",
        "created_at",
        "sent_at",
    )
    fields = readonly_fields
    change_list_template = "admin/seu_ledger/reminder/change_list.html"

    @admin.display(description=_("Credential"), ordering="term__credential__program__code")
    def credential(self, reminder):
        return reminder.term.credential.program.code

    @admin.display(description=_("When"), ordering="days_before")
    def point(self, reminder):
        return reminder.point_label

    @admin.display(description=_("Problem"))
    def problem(self, reminder):
        return reminder.last_error or reminder.skip_reason or ""

    def get_urls(self):
        preview = self.admin_site.admin_view(self.preview_view)
        return [
            path("preview/", preview, name="seu_ledger_reminder_preview"),
            *super().get_urls(),
        ]

    def preview_view(self, request):
        """The email a holder would get if the daily job ran on a day (today by default)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = ReminderPreviewForm(request.GET or None)
        plan = email = None
        if form.is_valid():
            holder = form.cleaned_data["holder"]
            # As the worker would send it: the holder's day, language and time zone.
            with reading_as(holder, default_language=settings.LANGUAGE_CODE):
                on = form.cleaned_data["on"] or local_date(holder.time_zone)
                plan = reminder_preview(holder, on)
                if plan.cards:
                    email = email_render(template=REMINDER_TEMPLATE, context=plan.context())
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Preview a reminder email"),
            "opts": self.model._meta,
            "form": form,
            "plan": plan,
            "email": email,
            "today": today(),
        }
        return TemplateResponse(request, "admin/seu_ledger/reminder/preview.html", context)


class LedgerChangeList(ChangeList):
    """Loads the ledgers of the listed credentials' holders together, so that the units
    columns of a page cost one load, not one per row."""

    def get_results(self, request):
        super().get_results(request)
        credentials = list(self.result_list)
        ledgers = holder_ledgers(sorted({credential.holder_id for credential in credentials}))
        on = today()
        for credential in credentials:
            ledger = ledgers[credential.holder_id]
            credential._renewal_requirements = group_requirements(
                ledger.group_of(credential.pk), ledger, on
            )


admin.site.unregister(Credential)


@admin.register(Credential)
class CredentialWithUnitsAdmin(CredentialAdmin):
    list_display = (*CredentialAdmin.list_display, "units_counted", "units_missing")
    readonly_fields = (*CredentialAdmin.readonly_fields, "renewal_needs", "transcripts")

    def get_changelist(self, request, **kwargs):
        return LedgerChangeList

    @admin.display(description=_("Transcripts"))
    def transcripts(self, credential):
        if not credential.pk:
            return "-"
        # Translators: a link to the PDF transcript of a credential's term ("Term 2 (PDF)").
        text = gettext("Term {sequence} (PDF)")
        return format_html_join(
            " ",
            '<a href="{}">{}</a>',
            (
                (
                    reverse("staff:transcript", args=[credential.pk, term.pk]),
                    text.format(sequence=term.sequence),
                )
                for term in credential.terms.all()
            ),
        )

    actions = [*CredentialAdmin.actions, "record_fee_paid", "waive_fee"]

    @admin.action(description=_("Record the renewal fee as paid"), permissions=["change_fee"])
    def record_fee_paid(self, request, queryset):
        return asking_action(
            self,
            request,
            queryset,
            form_class=RecordPaidForm,
            title=gettext("Record renewal fees as paid"),
            apply=lambda credential, data: fee_record(
                credential=credential, recorded_by=request.user, reference=data["reference"]
            ),
            done=lambda count: ngettext(
                "Record renewal fees as paid: {count} fee(s).",
                "Record renewal fees as paid: {count} fee(s).",
                count,
            ),
        )

    @admin.action(description=_("Waive the renewal fee (asks why)"), permissions=["change_fee"])
    def waive_fee(self, request, queryset):
        return asking_action(
            self,
            request,
            queryset,
            form_class=WaiveForm,
            title=gettext("Waive renewal fees"),
            apply=lambda credential, data: fee_waive(
                credential=credential, recorded_by=request.user, reason=data["reason"]
            ),
            done=lambda count: ngettext(
                "Waive renewal fees: {count} fee(s).", "Waive renewal fees: {count} fee(s).", count
            ),
        )

    def has_change_fee_permission(self, request):
        return request.user.has_perm("seu_ledger.change_fee")

    def _requirements(self, credential):
        # Memoised on the row object, so the columns of one row share one computation (the
        # list's rows have theirs from LedgerChangeList).
        if not hasattr(credential, "_renewal_requirements"):
            credential._renewal_requirements = renewal_requirements(credential)
        return credential._renewal_requirements

    @admin.display(description=_("Units counted"))
    def units_counted(self, credential):
        balance = self._requirements(credential).balance
        return (
            "-"
            if balance is None
            else f"{fmt_units(balance.counted)} / {fmt_units(balance.required)}"
        )

    @admin.display(description=_("Units missing"))
    def units_missing(self, credential):
        balance = self._requirements(credential).balance
        return "-" if balance is None else fmt_units(balance.missing)

    @admin.display(description=_("Renewal needs"))
    def renewal_needs(self, credential):
        if not credential.pk:
            return "-"
        messages = self._requirements(credential).messages()
        return " ".join(messages) if messages else gettext("Ready to renew.")


@admin.register(CategoryMapping)
class CategoryMappingAdmin(CategoryChoices, admin.ModelAdmin):
    list_display = ("source", "target")
    list_filter = ("source__issuer", "target__issuer")
    list_select_related = ("source__issuer", "target__issuer")


admin.site.register(Entry.history.model, AuditTrailAdmin)
admin.site.register(Fee.history.model, AuditTrailAdmin)


class RuleVersionInline(LabelledTabularInline):
    """The program's rule versions; the limits of each are edited on the version's page."""

    model = RuleVersion
    extra = 0
    fields = (
        "effective_from",
        "applies_to_running_terms",
        "units_required",
        "lookback_months",
        "daily_unit_cap",
        "combined_addon_units",
        "units_after_end_count",
        "carry_over_max",
    )
    show_change_link = True
    min_num = 1  # a program that expires is judged by some rules
    verbose_name = _("renewal rules from a date")
    verbose_name_plural = _("renewal rules, by the date they take effect")

    def get_min_num(self, request, obj=None, **kwargs):
        return 0 if obj is not None and obj.is_lifetime else 1

    def has_change_permission(self, request, obj=None):
        return (
            False
            if obj is not None
            and RuleVersion.objects.filter(program=obj, renewals__isnull=False).exists()
            else super().has_change_permission(request, obj)
        )


admin.site.unregister(Program)


@admin.register(Program)
class ProgramWithRulesAdmin(ProgramAdmin):
    inlines = [RuleVersionInline]
