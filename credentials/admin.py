"""Staff screens for people and, later, their credentials."""

import datetime
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Max, Min
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from cspo_tracker.history import AuditedAdmin, AuditTrailAdmin
from cspo_tracker.middleware import client_ip
from cspo_tracker.staff import ActionPermissionMixin, LabelledTabularInline, ReadOnlyAdminMixin

from . import accounts
from .forms import StaffAuthenticationForm, UserChangeForm, UserCreationForm
from .impact import credential_impact
from .merge import default_survivor, holders_merge_preview
from .models import (
    Attendance,
    Course,
    Credential,
    Invitation,
    Issuer,
    Membership,
    Organisation,
    OrganisationMember,
    Program,
    RosterImport,
    Term,
    User,
)
from .organisations import organisation_logo_check, organisation_password_sessions_end
from .selectors import (
    Status,
    status_condition,
    status_for_dates,
    status_label,
    today,
)
from .services import (
    ISSUED_IN_FUTURE,
    credential_issue,
    credential_revoke,
    credential_verify,
    holders_merge,
    impact_in_words,
)

MERGE_PICK_TWO = _("Select exactly two holders to merge, then choose which one is kept.")

# The staff sign-in reduces the address to its canonical form, like the holders' sign-in.
admin.site.login_form = StaffAuthenticationForm


class CredentialInline(LabelledTabularInline):
    model = Credential
    fk_name = "holder"
    extra = 0
    fields = ("program", "issued_on", "source_course")
    readonly_fields = fields
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("program", "source_course__program")

    def has_add_permission(self, request, obj=None):
        return False  # issuing goes through the Credential page, which creates the first term


class MembershipInline(LabelledTabularInline):
    model = Membership
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("issuer")  # each row's title


@admin.register(User)
class UserAdmin(ActionPermissionMixin, DjangoUserAdmin):
    inlines = [CredentialInline, MembershipInline]
    actions = ["send_invitation", "deactivate", "reactivate", "merge_holders"]

    @admin.action(description=_("Email an invitation to set a password"), permissions=["change"])
    def send_invitation(self, request, queryset):
        sent = 0
        for user in queryset:
            try:
                went = accounts.holder_invite(
                    holder=user, requested_by=request.user, client=client_ip(request)
                )
            except (ValidationError, accounts.RateLimited) as refusal:
                reason = " ".join(getattr(refusal, "messages", [str(refusal)]))
                # Translators: {reason} is why, in one or more sentences.
                text = gettext("Not sent to {email}: {reason}")
                self.message_user(
                    request, text.format(email=user.email, reason=reason), messages.ERROR
                )
            except OSError as failure:  # the mail server: the invitation waits for the sweep
                text = gettext(
                    # Translators: {failure} is the mail server's answer, as it gave it.
                    "Not sent to {email} yet: the mail server answered “{failure}”. "
                    "It is tried again every few minutes."
                )
                self.message_user(
                    request, text.format(email=user.email, failure=failure), messages.WARNING
                )
            else:
                if went:
                    sent += 1
                else:
                    self.message_user(
                        request,
                        gettext("An invitation to {email} is being sent right now.").format(
                            email=user.email
                        ),
                    )
        self.message_user(
            request,
            ngettext("Sent {count} invitation(s).", "Sent {count} invitation(s).", sent).format(
                count=sent
            ),
        )

    @admin.action(description=_("Deactivate: stop sign-in and reminders"), permissions=["change"])
    def deactivate(self, request, queryset):
        changed = sum(
            accounts.user_deactivate(user=user)
            for user in queryset
            if self.has_change_permission(request, user)
        )
        self.message_user(
            request,
            ngettext(
                "Deactivated {count} account(s).", "Deactivated {count} account(s).", changed
            ).format(count=changed),
        )

    @admin.action(description=_("Reactivate deactivated accounts"), permissions=["change"])
    def reactivate(self, request, queryset):
        changed = sum(
            accounts.user_reactivate(user=user)
            for user in queryset
            if self.has_change_permission(request, user)
        )
        self.message_user(
            request,
            ngettext(
                "Reactivated {count} account(s).", "Reactivated {count} account(s).", changed
            ).format(count=changed),
        )
        for user in queryset.filter(merged_into__isnull=False).select_related("merged_into"):
            self.message_user(
                request,
                accounts.MERGED_NOT_REACTIVATED.format(email=user.email, into=user.merged_into),
                messages.WARNING,
            )

    @admin.action(description=_("Merge into another holder…"), permissions=["merge"])
    def merge_holders(self, request, queryset):
        """Two selected holders: to the merge page, which previews what the merge does."""
        ids = sorted(queryset.values_list("pk", flat=True)[:3])
        if len(ids) != 2:
            self.message_user(request, MERGE_PICK_TWO, messages.ERROR)
            return None
        url = reverse("admin:credentials_user_merge")
        return redirect(f"{url}?{urlencode({'ids': f'{ids[0]},{ids[1]}'})}")

    def has_merge_permission(self, request):
        return request.user.has_perm("credentials.merge_user")

    def get_urls(self):
        merge = self.admin_site.admin_view(self.merge_view)
        return [path("merge/", merge, name="credentials_user_merge"), *super().get_urls()]

    def merge_view(self, request):
        """Preview merging one of two holders into the other (the kept one chosen here; the
        older by default): what moves, the clashes and how each is settled, the renewal
        dates afterwards, or why it cannot happen. Its POST merges, in one transaction."""
        if not self.has_merge_permission(request):
            raise PermissionDenied
        params = request.POST if request.method == "POST" else request.GET
        try:
            ids = sorted({int(part) for part in params.get("ids", "").split(",")})
        except ValueError:
            ids = []
        pair = list(User.objects.filter(pk__in=ids)) if len(ids) == 2 else []
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Merge two holders"),
            "opts": self.model._meta,
        }
        if len(pair) != 2:
            return TemplateResponse(
                request, "admin/credentials/user/merge.html", {**context, "problem": MERGE_PICK_TWO}
            )
        chosen = params.get("survivor", "")
        survivor = next((u for u in pair if str(u.pk) == chosen), None)
        survivor = survivor or default_survivor(*pair)
        merged = next(u for u in pair if u.pk != survivor.pk)
        if request.method == "POST" and params.get("confirm") == "1":
            try:
                holders_merge(survivor=survivor, merged=merged, by=request.user)
            except ValidationError as refusal:
                for message in refusal.messages:
                    self.message_user(request, message, messages.ERROR)
            else:
                text = gettext(
                    "Merged {merged} into {survivor}: its records are there now, "
                    "its addresses find that account, and it is deactivated."
                )
                self.message_user(
                    request,
                    text.format(merged=merged.email, survivor=survivor.email),
                    messages.SUCCESS,
                )
                return redirect("admin:credentials_user_change", survivor.pk)
        preview = holders_merge_preview(survivor=survivor, merged=merged)
        return TemplateResponse(
            request,
            "admin/credentials/user/merge.html",
            {
                **context,
                "pair": sorted(pair, key=lambda user: (user.date_joined, user.pk)),
                "ids": f"{ids[0]},{ids[1]}",
                "preview": preview,
            },
        )

    @admin.display(description=_("Other addresses"))
    def other_addresses(self, user):
        rows = list(user.addresses.all())
        if not rows:
            return "-"
        waiting = gettext("{address} (waiting for confirmation)")
        return ", ".join(
            row.address if row.is_confirmed else waiting.format(address=row.address) for row in rows
        )

    def save_model(self, request, obj, form, change):
        """A changed email address is not saved: its owner confirms it from a link sent to it
        (and the old address is told), whoever changed it here."""
        new_email = obj.email
        if change and "email" in form.changed_data:
            obj.email = form.initial["email"]
        super().save_model(request, obj, form, change)
        if change and "email" in form.changed_data:
            accounts.email_change_request(
                user=obj, new_email=new_email, requested_by=request.user, client=client_ip(request)
            )
            text = gettext(
                "A confirmation link was sent to {new_email}; the account keeps "
                "{email} until its owner follows it."
            )
            self.message_user(
                request, text.format(new_email=new_email, email=obj.email), messages.WARNING
            )

    def get_inlines(self, request, obj):
        return self.inlines if obj else []

    # Only superusers grant staff status, roles and permissions, or touch staff accounts and
    # passwords: a registrar corrects holders' names, and cannot promote anyone.
    PRIVILEGE_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if obj is not None and not request.user.has_perm("credentials.change_user_email"):
            # Moving an account to another address hands it to whoever holds that mailbox.
            fields = (*fields, "email")
        if request.user.is_superuser:
            return fields
        return (*fields, *self.PRIVILEGE_FIELDS)

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        if obj is not None and obj.is_staff and not request.user.is_superuser:
            return False
        return allowed

    def user_change_password(self, request, id, form_url=""):
        if not request.user.is_superuser:
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)

    form = UserChangeForm
    add_form = UserCreationForm
    ordering = ("email",)
    list_display = (
        "email",
        "first_name",
        "last_name",
        "state",
        "pending_email",
        "is_staff",
        "invited_at",
    )
    list_filter = ("state", "is_staff", "is_superuser", "groups")
    search_fields = ("email", "first_name", "last_name")
    readonly_fields = (
        "state",
        "pending_email",
        "other_addresses",
        "merged_into",
        "last_login",
        "date_joined",
        "invited_at",
        "licence_accepted_at",
    )
    fieldsets = (
        (None, {"fields": ("email", "pending_email", "other_addresses", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name")}),
        (_("Language and time zone"), {"fields": ("language", "time_zone")}),
        (_("Reminders"), {"fields": ("reminders_unsubscribed_at",)}),
        (
            _("Permissions"),
            {
                "fields": (
                    "state",
                    "merged_into",
                    "is_staff",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                )
            },
        ),
        (
            _("Important dates"),
            {"fields": ("last_login", "date_joined", "invited_at", "licence_accepted_at")},
        ),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "first_name", "last_name", "password1", "password2"),
            },
        ),
    )


@admin.register(Issuer)
class IssuerAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "combined_renewal")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    search_fields = ("name", "code")
    prepopulated_fields = {"code": ("name",)}


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "issuer",
        "level",
        "validity",
        "unit_name",
        "fee_amount",
        "grace_days",
        "is_active",
    )
    list_filter = ("issuer", "level", "is_active")
    search_fields = ("code", "name")
    fieldsets = (
        (None, {"fields": ("issuer", "code", "name", "track", "level", "is_active")}),
        (
            _("Term"),
            {"fields": ("validity_months", "time_zone", "reminder_horizon_days", "unit_name")},
        ),
        (
            _("After the end"),
            {
                "fields": (
                    "grace_days",
                    "after_end_name",
                    "after_end_status",
                    "valid_after_end",
                    "lapse_is_final",
                )
            },
        ),
        (_("Reminders"), {"fields": ("reminder_days_before", "grace_reminder_every_days")}),
        (_("Fee"), {"fields": ("fee_required", "fee_amount", "member_fee_amount", "currency")}),
        (_("Courses"), {"fields": ("min_course_hours",)}),
    )

    @admin.display(description=_("Validity"))
    def validity(self, program):
        if program.is_lifetime:
            return gettext("lifetime")
        months = program.validity_months
        # Translators: the English says "months" whatever the number.
        return ngettext("{months} months", "{months} months", months).format(months=months)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("holder", "issuer", "member_id", "is_paying_member")
    list_filter = ("issuer", "is_paying_member")
    search_fields = ("holder__email", "member_id")
    autocomplete_fields = ("holder",)


class AttendanceInline(LabelledTabularInline):
    model = Attendance
    extra = 0
    autocomplete_fields = ("holder",)


class CourseForm(forms.ModelForm):
    class Meta:
        model = Course
        fields = (
            "code",
            "title",
            "program",
            "organisation",
            "trainers",
            "trainer",
            "start_date",
            "end_date",
            "hours",
            "delivery",
        )

    def clean(self):
        cleaned = super().clean()
        organisation, trainers = cleaned.get("organisation"), cleaned.get("trainers")
        if trainers:
            members = (
                set(organisation.members.values_list("user_id", flat=True))
                if organisation
                else set()
            )
            outsiders = [user.email for user in trainers if user.pk not in members]
            if outsiders:
                if organisation:
                    text = gettext(
                        # Translators: {addresses} lists email addresses, separated by commas.
                        "Not members of {organisation}: {addresses}. Add them to the "
                        "organisation first."
                    )
                else:
                    text = gettext(
                        "Not members of an organisation: {addresses}. Add them to the "
                        "organisation first."
                    )
                self.add_error(
                    "trainers",
                    text.format(organisation=organisation, addresses=", ".join(outsiders)),
                )
        return cleaned


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    form = CourseForm
    list_display = (
        "code",
        "title",
        "program",
        "organisation",
        "trainer",
        "start_date",
        "end_date",
        "hours",
    )
    list_select_related = ("program", "organisation")
    list_filter = ("program", "organisation", "delivery", "end_date")
    search_fields = ("code", "title", "trainer")
    date_hierarchy = "end_date"
    autocomplete_fields = ("organisation",)
    inlines = [AttendanceInline]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("organisation__logo")

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "trainers":
            # Only organisations' members can be trainers (the form checks which one's).
            kwargs["queryset"] = User.objects.filter(
                pk__in=OrganisationMember.objects.values("user_id")
            ).order_by("email")
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class OrganisationMemberInline(LabelledTabularInline):
    model = OrganisationMember
    extra = 0
    autocomplete_fields = ("user",)
    fields = ("user", "role", "oidc_subject", "added_at")
    readonly_fields = ("oidc_subject", "added_at")


class OrganisationForm(forms.ModelForm):
    logo_file = forms.FileField(
        label=_("Logo"),
        required=False,
        help_text=_("PNG or JPEG, at most 1 MB; stored as PNG, at most 400 x 160 pixels."),
    )
    oidc_client_secret = forms.CharField(
        label=_("OpenID Connect client secret"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Leave empty to keep the one stored."),
    )

    class Meta:
        model = Organisation
        fields = (
            "name",
            "slug",
            "member_domains",
            "website",
            "reply_to",
            "oidc_issuer",
            "oidc_client_id",
            "oidc_client_secret",
            "oidc_required",
        )

    def clean_logo_file(self):
        upload = self.cleaned_data.get("logo_file")
        if not upload:
            return None
        try:
            return organisation_logo_check(upload.read())
        except ValidationError as error:
            raise ValidationError(error.message_dict["logo"]) from None

    def clean_oidc_client_secret(self):
        return self.cleaned_data.get("oidc_client_secret") or self.instance.oidc_client_secret


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    """Training organisations, their members and how they sign in. Platform staff set up an
    organisation's identity provider here; its admins manage members on its own pages."""

    form = OrganisationForm
    list_display = ("name", "slug", "reply_to", "oidc_required")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [OrganisationMemberInline]
    fieldsets = (
        (
            None,
            {"fields": ("name", "slug", "member_domains", "website", "reply_to", "logo_file")},
        ),
        (
            _("Sign-in through the organisation's identity provider (OpenID Connect)"),
            {
                "fields": (
                    "oidc_issuer",
                    "oidc_client_id",
                    "oidc_client_secret",
                    "oidc_required",
                ),
                "description": _(
                    # Translators: keep the <code> element and the URI in it as they are.
                    "Register this site at the provider with the redirect URI "
                    "<code>&lt;site&gt;/accounts/sign-in/&lt;slug&gt;/callback/</code> and the "
                    "scopes openid, email and profile."
                ),
            },
        ),
    )

    OIDC_FIELDS = ("oidc_issuer", "oidc_client_id", "oidc_client_secret", "oidc_required")

    def get_queryset(self, request):
        return super().get_queryset(request).defer("logo")

    def get_readonly_fields(self, request, obj=None):
        # Whose provider signs its members in is for superusers to set: a provider can sign
        # in as any member.
        if request.user.is_superuser:
            return super().get_readonly_fields(request, obj)
        shown = [name for name in self.OIDC_FIELDS if name != "oidc_client_secret"]
        return (*super().get_readonly_fields(request, obj), *shown)

    def get_fieldsets(self, request, obj=None):
        if request.user.is_superuser:
            return self.fieldsets
        # Others neither see nor set the secret.
        (main, provider) = self.fieldsets
        fields = tuple(name for name in provider[1]["fields"] if name != "oidc_client_secret")
        return (main, (provider[0], {**provider[1], "fields": fields}))

    def save_model(self, request, obj, form, change):
        logo = form.cleaned_data.get("logo_file")
        if logo:
            obj.logo = logo
            obj.logo_version = (obj.logo_version or 0) + 1
        newly_required = obj.oidc_required and (not change or "oidc_required" in form.changed_data)
        super().save_model(request, obj, form, change)
        if newly_required:
            organisation_password_sessions_end(organisation=obj)

    def save_formset(self, request, form, formset, change):
        for member_form in formset.forms:
            # Another account in an existing membership: the provider identity linked to the
            # one before is not this one's.
            if member_form.instance.pk and "user" in member_form.changed_data:
                member_form.instance.oidc_subject = ""
        super().save_formset(request, form, formset, change)
        # A member removed here no longer runs the organisation's courses either.
        for member in formset.deleted_objects:
            Course.trainers.through.objects.filter(
                user_id=member.user_id, course__organisation_id=member.organisation_id
            ).delete()


@admin.register(Attendance)
class AttendanceAdmin(admin.ModelAdmin):
    list_display = ("holder", "course", "hours_attended", "completed")
    list_select_related = ("holder", "course__program")
    list_filter = ("completed", "course__program")
    search_fields = ("holder__email", "course__code")
    autocomplete_fields = ("holder", "course")


class StatusFilter(admin.SimpleListFilter):
    title = _("status today")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return Status.choices

    def queryset(self, request, queryset):
        if self.value() in Status.values:
            return queryset.filter(status_condition(Status(self.value()), today()))
        return queryset


class ExpiringWithinFilter(admin.SimpleListFilter):
    title = _("expiring within")
    parameter_name = "expiring_within"

    def lookups(self, request, model_admin):
        return [
            (str(days), ngettext("{days} day", "{days} days", days).format(days=days))
            for days in (30, 60, 90)
        ]

    def queryset(self, request, queryset):
        if self.value() in ("30", "60", "90"):
            start = today()
            end = start + datetime.timedelta(days=int(self.value()))
            return queryset.filter(valid_through__gte=start, valid_through__lte=end)
        return queryset


class TermInline(LabelledTabularInline):
    model = Term
    extra = 0
    can_delete = False  # a credential always keeps its terms; correct dates instead
    fields = ("sequence", "starts_on", "ends_on", "aligned_from")
    readonly_fields = ("aligned_from",)


class CredentialForm(forms.ModelForm):
    class Meta:
        model = Credential
        fields = (
            "holder",
            "program",
            "issued_on",
            "source_course",
            "certificate_number",
            "verified",
        )

    def clean_issued_on(self):
        issued_on = self.cleaned_data["issued_on"]
        if issued_on and issued_on > today():
            raise forms.ValidationError(ISSUED_IN_FUTURE)
        return issued_on


@admin.register(Credential)
class CredentialAdmin(ActionPermissionMixin, AuditedAdmin):
    form = CredentialForm
    list_display = (
        "holder",
        "program",
        "issued_on",
        "valid_through_display",
        "status_display",
        "days_left",
    )
    list_filter = (StatusFilter, ExpiringWithinFilter, "verified", "program__issuer", "program")
    actions = ["mark_verified", "revoke"]
    list_select_related = ("holder", "program__issuer")
    list_per_page = 25
    search_fields = ("holder__email", "holder__first_name", "holder__last_name", "program__code")
    autocomplete_fields = ("holder", "source_course")
    readonly_fields = (
        "verification_code",
        "status_display",
        "valid_through_display",
        "revoked_at",
        "revoked_reason",
        "revoked_by",
    )
    inlines = [TermInline]

    def get_inlines(self, request, obj):
        return self.inlines if obj else []  # the first term comes from credential_issue

    @admin.action(
        description=_("Mark selected credentials verified with the issuer"),
        permissions=["change"],
    )
    def mark_verified(self, request, queryset):
        """First a page with what verifying each claim changes in the holder's other
        renewals; verified once staff confirm there (each holder is emailed)."""
        pending = list(queryset.filter(verified=False).select_related("holder", "program__issuer"))
        if request.POST.get("apply") != "1":
            rows = [
                (
                    credential,
                    impact_in_words(
                        credential_impact(holder=credential.holder, credential=credential)
                    ),
                )
                for credential in pending
            ]
            return TemplateResponse(
                request,
                "admin/credentials/verify_confirm.html",
                {
                    **self.admin_site.each_context(request),
                    "title": gettext("Verify claims with the issuer"),
                    "opts": self.model._meta,
                    "rows": rows,
                },
            )
        for credential in pending:
            credential_verify(credential=credential)
        self.message_user(
            request,
            ngettext(
                "Marked {count} credential(s) verified.",
                "Marked {count} credential(s) verified.",
                len(pending),
            ).format(count=len(pending)),
        )
        return None

    @admin.action(
        description=_("Revoke selected credentials (with a reason)"), permissions=["change"]
    )
    def revoke(self, request, queryset):
        """First a page asking why; revoked once staff give a reason there. Revoking is final:
        the credential's published status changes at once and its public page says so."""
        chosen = list(queryset.filter(revoked_at__isnull=True).select_related("holder", "program"))
        reason = request.POST.get("reason", "")
        error = None
        if request.POST.get("apply") == "1":
            try:
                for credential in chosen:
                    credential_revoke(credential=credential, reason=reason, by=request.user)
            except ValidationError as refused:
                error = " ".join(refused.messages)
            else:
                already = queryset.count() - len(chosen)
                revoked = ngettext(
                    "Revoked {count} credential(s).", "Revoked {count} credential(s).", len(chosen)
                ).format(count=len(chosen))
                if already:
                    left = ngettext(
                        "{count} revoked before were left as they were.",
                        "{count} revoked before were left as they were.",
                        already,
                    ).format(count=already)
                    revoked = f"{revoked} {left}"
                self.message_user(request, revoked)
                return None
        return TemplateResponse(
            request,
            "admin/credentials/revoke_confirm.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Revoke credentials"),
                "opts": self.model._meta,
                "credentials": chosen,
                "already": queryset.count() - len(chosen),
                "reason": reason,
                "error": error,
            },
        )

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        issued = credential_issue(
            holder=obj.holder,
            program=obj.program,
            issued_on=obj.issued_on,
            source_course=obj.source_course,
            certificate_number=obj.certificate_number,
            verified=obj.verified,
        )
        obj.pk = issued.pk
        obj.verification_code = issued.verification_code

    def get_queryset(self, request):
        # The dates columns and the status come from these, computed with the rows.
        queryset = super().get_queryset(request)
        return queryset.annotate(
            valid_through=Max("terms__ends_on"), first_starts_on=Min("terms__starts_on")
        )

    @staticmethod
    def _has_terms(credential) -> bool:
        """Saved, and loaded through `get_queryset` with at least one term."""
        return getattr(credential, "first_starts_on", None) is not None

    @admin.display(description=_("Valid through"), ordering="valid_through")
    def valid_through_display(self, credential):
        if not self._has_terms(credential):
            return "-"
        return credential.valid_through or gettext("lifetime")

    @admin.display(description=_("Status"))
    def status_display(self, credential):
        if not self._has_terms(credential):
            return "-"
        if credential.revoked_at is not None:
            return Status.REVOKED.label
        status = status_for_dates(
            program=credential.program,
            first_starts_on=credential.first_starts_on,
            valid_through=credential.valid_through,
            on=today(),
        )
        return status_label(credential.program, status)

    @admin.display(description=_("Days left"), ordering="valid_through")
    def days_left(self, credential):
        if (
            not self._has_terms(credential)
            or credential.valid_through is None
            or credential.revoked_at is not None
        ):
            return "-"
        return (credential.valid_through - today()).days


@admin.register(Term)
class TermAdmin(AuditedAdmin):
    list_display = ("credential", "sequence", "starts_on", "ends_on", "aligned_from")
    list_filter = ("credential__program",)
    search_fields = ("credential__holder__email", "credential__program__code")
    list_select_related = ("credential__holder", "credential__program")
    # A select would list every credential, each naming its holder and program.
    autocomplete_fields = ("credential",)
    date_hierarchy = "ends_on"


@admin.register(RosterImport)
class RosterImportAdmin(admin.ModelAdmin):
    """History of roster imports; uploading and confirming happen on the staff roster pages."""

    list_display = (
        "original_name",
        "uploaded_by",
        "organisation",
        "created_at",
        "status",
        "rows_total",
    )
    list_select_related = ("uploaded_by", "organisation")
    list_filter = ("status", "organisation")

    def get_queryset(self, request):
        return super().get_queryset(request).defer("organisation__logo")

    readonly_fields = [field.name for field in RosterImport._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Invitations owed to holders: waiting (with the mail server's last answer) or sent. The
    workers and the sweep send them; staff invite from the users list."""

    list_display = ("holder", "requested_at", "requested_by", "sent_at", "attempts", "last_error")
    list_filter = (("sent_at", admin.EmptyFieldListFilter),)
    list_select_related = ("holder", "requested_by")
    search_fields = ("holder__email",)
    date_hierarchy = "requested_at"


admin.site.register(Credential.history.model, AuditTrailAdmin)
admin.site.register(Term.history.model, AuditTrailAdmin)
