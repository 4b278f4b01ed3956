"""Staff pages for API tokens, webhook endpoints and the delivery log. Every change goes
through the same services as the API."""

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import format_lazy
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from credentials.models import User
from cspo_tracker.staff import ActionPermissionMixin

from . import tokens, webhooks
from .events import EVENT_TYPES
from .models import ApiToken, Delivery, DeliveryAttempt, Scope, WebhookEndpoint

MADE = "api_integration_token_made"  # carries a new token to the page, once


class IntegrationTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, label=_("Name"), help_text=_("What it is for: “Moodle sync”.")
    )
    user = forms.ModelChoiceField(
        queryset=User.objects.filter(is_staff=True, is_active=True).order_by("email"),
        label=_("Acts for"),
        help_text=_("A staff member: the token can do no more than their permissions allow."),
    )
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices, label=_("Scopes"), widget=forms.CheckboxSelectMultiple
    )
    expires_at = forms.DateTimeField(
        required=False,
        label=_("Expires"),
        # Translators: YYYY-MM-DD HH:MM is the form the date and time are typed in.
        help_text=_("Empty: until revoked. YYYY-MM-DD HH:MM."),
    )


@admin.register(ApiToken)
class ApiTokenAdmin(ActionPermissionMixin, admin.ModelAdmin):
    list_display = (
        "name",
        "kind",
        "user",
        "prefix",
        "scopes",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("kind",)
    search_fields = ("name", "user__email", "prefix")
    readonly_fields = [f.name for f in ApiToken._meta.fields]
    actions = ["revoke"]

    def has_change_permission(self, request, obj=None):
        return False  # a token is made and revoked, never edited

    @admin.action(description=_("Revoke the selected tokens"), permissions=["delete"])
    def revoke(self, request, queryset):
        for token in queryset:
            tokens.token_revoke(token=token)
        count = queryset.count()
        # The English says "token(s)" in both forms; other languages give each its own.
        self.message_user(
            request,
            ngettext("Revoked {count} token(s).", "Revoked {count} token(s).", count).format(
                count=count
            ),
        )

    def add_view(self, request, form_url="", extra_context=None):
        """Make an integration token; its secret is shown on the next page, once."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        made = request.session.pop(MADE, None) if request.method == "GET" else None
        form = IntegrationTokenForm(request.POST or None)
        if not request.user.is_superuser:  # a token never acts for someone with more reach
            form.fields["user"].queryset = User.objects.filter(pk=request.user.pk)
            form.fields["user"].initial = request.user.pk
        if request.method == "POST" and form.is_valid():
            try:
                made = tokens.token_create(
                    user=form.cleaned_data["user"],
                    kind=ApiToken.Kind.INTEGRATION,
                    name=form.cleaned_data["name"],
                    scopes=form.cleaned_data["scopes"],
                    expires_at=form.cleaned_data["expires_at"],
                    created_by=request.user,
                )
            except ValidationError as refusal:
                for field, errors in refusal.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                # Shown on the page this redirects to, once: a reload makes no second token.
                request.session[MADE] = {
                    "name": made.token.name,
                    "email": made.token.user.email,
                    # Plain text: the session is stored as JSON.
                    "scopes": [str(Scope(scope).label) for scope in made.token.scopes],
                    "secret": made.secret,
                }
                return redirect("admin:api_apitoken_add")
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("New integration token"),
            "opts": self.model._meta,
            "form": form,
            "made": made,
        }
        return TemplateResponse(request, "admin/api/apitoken/add.html", context)


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = ("attempted_at", "status_code", "error", "duration_ms")

    def has_add_permission(self, request, obj=None):
        return False


class EndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https", label=_("Url"))
    events = forms.MultipleChoiceField(
        choices=[
            (name, format_lazy("{name}: {what}", name=name, what=what))
            for name, what in sorted(EVENT_TYPES.items())
        ],
        label=_("Events"),
        widget=forms.CheckboxSelectMultiple,
    )
    paused = forms.BooleanField(
        required=False, label=_("Paused"), help_text=_("No event is sent while paused.")
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "events"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["paused"].initial = self.instance.paused_at is not None

    def clean(self):
        data = super().clean()
        errors = webhooks.endpoint_errors(data.get("url", ""), data.get("events", []))
        for field, messages_ in errors.items():
            self.add_error(field, messages_)
        return data


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = ("url", "description", "events", "paused_at", "paused_reason")
    readonly_fields = ("secret", "paused_reason", "created_at", "created_by")

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data  # checked by the form with the services' own rules
        if change:
            webhooks.endpoint_update(
                endpoint=obj,
                url=data["url"],
                events=data["events"],
                description=data["description"],
                paused=data["paused"],
            )
        else:
            made = webhooks.endpoint_create(
                url=data["url"],
                events=data["events"],
                description=data["description"],
                created_by=request.user,
            )
            obj.pk = made.pk
            obj.refresh_from_db()

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(
            request,
            format_html(
                gettext(
                    "Its signing secret is <code>{secret}</code> (also on the endpoint's page). "
                    "Receivers check each request's webhook-signature header with it, with a "
                    "Standard Webhooks library: <code>Webhook(secret).verify(body, headers)"
                    "</code>."
                ),
                secret=obj.secret,
            ),
            messages.INFO,
        )
        return super().response_add(request, obj, post_url_continue)


@admin.register(Delivery)
class DeliveryAdmin(ActionPermissionMixin, admin.ModelAdmin):
    list_display = (
        "event_type",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
        "endpoint",
    )
    list_filter = ("status", "endpoint", "event__type")
    list_select_related = ("event", "endpoint")
    fields = (
        "event_type",
        "webhook_id",
        "endpoint",
        "status",
        "attempts",
        "first_attempt_at",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "delivered_at",
        "payload",
    )
    readonly_fields = fields
    inlines = [DeliveryAttemptInline]
    actions = ["send_again"]

    @admin.display(description=_("Payload"))
    def payload(self, delivery):
        return format_html("<pre>{}</pre>", json.dumps(delivery.event.payload, indent=2))

    @admin.display(description=_("Event"), ordering="event__type")
    def event_type(self, delivery):
        return delivery.event.type

    def has_change_permission(self, request, obj=None):
        return False  # a record of what was sent: read, and sent again by the action

    def has_add_permission(self, request):
        return False

    def has_send_permission(self, request):
        return request.user.has_perm("api.change_webhookendpoint")

    @admin.action(description=_("Send again"), permissions=["send"])
    def send_again(self, request, queryset):
        sent = 0
        for delivery in queryset:
            try:
                webhooks.delivery_resend(delivery=delivery)
                sent += 1
            except ValidationError as refusal:
                self.message_user(
                    request, f"{delivery}: {' '.join(refusal.messages)}", messages.WARNING
                )
        self.message_user(
            request,
            ngettext(
                # Translators: {time} is the time of day, such as 14:05.
                "{count} delivery sent again at {time}.",
                "{count} deliveries sent again at {time}.",
                sent,
            ).format(count=sent, time=f"{timezone.localtime():%H:%M}"),
        )
