"""The audit trail: who changed a credential, term, entry or fee, when, and to what.

django-simple-history records each `save()` and `delete()` (with the signed-in user, through
its middleware). Bulk writes send no signals, so the code that makes them calls
`history_record` afterwards: one INSERT ... SELECT copies the rows' new state into the
historical table, however many rows, with the user and reason of the surrounding
`audit_context` (a roster import names its uploader and file).
"""

import contextvars
from contextlib import contextmanager
from dataclasses import dataclass

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import EmptyResultSet, PermissionDenied
from django.db import connection
from django.db.models import QuerySet
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin
from simple_history.signals import pre_create_historical_record

from .staff import ReadOnlyAdminMixin

CREATED, CHANGED = "+", "~"
HISTORY_FIELDS = {
    "history_id",
    "history_date",
    "history_change_reason",
    "history_type",
    "history_user",
}


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    reason: str


_actor: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("audit_actor", default=None)


@contextmanager
def audit_context(*, user=None, reason: str = ""):
    """Attribute the changes made inside to `user` (None: the system) with a reason, wherever
    no request names the user (Celery tasks, management commands)."""
    token = _actor.set(Actor(getattr(user, "pk", user), reason[:100]))
    try:
        yield
    finally:
        _actor.reset(token)


@receiver(pre_create_historical_record)
def _attribute(sender, instance, history_instance, **kwargs):
    actor = _actor.get()
    if actor is None:
        return
    if history_instance.history_user_id is None:
        history_instance.history_user_id = actor.user_id
    if not history_instance.history_change_reason:
        history_instance.history_change_reason = actor.reason


def history_record(queryset: QuerySet, *, history_type: str = CHANGED) -> int:
    """Copy the current state of the rows in `queryset` into its model's audit trail, as one
    INSERT ... SELECT. Call it after a bulk create or update. Returns how many were recorded."""
    model = queryset.model
    history = model.history.model
    columns = [
        field.column for field in history._meta.concrete_fields if field.name not in HISTORY_FIELDS
    ]
    attnames = [
        field.attname for field in history._meta.concrete_fields if field.name not in HISTORY_FIELDS
    ]
    try:
        select_sql, params = queryset.order_by().values(*attnames).query.sql_with_params()
    except EmptyResultSet:
        return 0
    actor = _actor.get() or Actor(None, "")
    quote = connection.ops.quote_name
    meta = history._meta
    targets = [*columns, "history_date", "history_change_reason", "history_type"]
    targets.append(meta.get_field("history_user").column)
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(c) for c in targets)}) "  # noqa: S608 - names from meta
        f"SELECT rows.*, %s, %s, %s, %s FROM ({select_sql}) rows"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [timezone.now(), actor.reason, history_type, actor.user_id, *params])
        return max(cursor.rowcount, 0)


class AuditedAdmin(SimpleHistoryAdmin):
    """The history library's admin (a History button on each record), whose page for going
    back to an earlier version saves only for someone allowed to change the record."""

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            obj = self.get_object(request, unquote(object_id))
            if not self.has_change_permission(request, obj):
                raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class AuditChangeList(ChangeList):
    """Loads the version before each listed one in one query, for the before-and-after column."""

    def get_results(self, request):
        super().get_results(request)
        rows = list(self.result_list)
        if not rows:
            return
        history = self.model
        earlier: dict[int, list] = {}
        for version in history.objects.filter(
            id__in={row.id for row in rows},
            history_date__lte=max(row.history_date for row in rows),
        ).order_by("id", "history_date", "history_id"):
            earlier.setdefault(version.id, []).append(version)
        for row in rows:
            key = (row.history_date, row.history_id)
            before = [v for v in earlier.get(row.id, []) if (v.history_date, v.history_id) < key]
            row.previous_version = before[-1] if before else None


class AuditTrailAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only list of one model's historical records: who, when, what kind of change, the
    reason, and each field's value before and after."""

    list_display = ("history_date", "history_user", "history_type", "record", "reason", "changes")
    list_filter = ("history_type", "history_date")
    search_fields = ("history_user__email", "history_change_reason")
    list_select_related = ("history_user",)
    list_per_page = 50
    date_hierarchy = "history_date"

    def get_changelist(self, request, **kwargs):
        return AuditChangeList

    @admin.display(description=_("Record"))
    def record(self, historical):
        meta = historical.instance_type._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[historical.id])
        return format_html('<a href="{}">{} {}</a>', url, meta.verbose_name, historical.id)

    @admin.display(description=_("Reason"), ordering="history_change_reason")
    def reason(self, historical):
        return historical.history_change_reason or ""

    @admin.display(description=_("Before and after"))
    def changes(self, historical):
        previous = getattr(historical, "previous_version", None)
        if previous is None:
            # Translators: the record's first version, in the audit trail's before-and-after column.
            return gettext("created") if historical.history_type == CREATED else ""
        changed = historical.diff_against(previous).changes
        return format_html_join(
            mark_safe("<br>"),
            "{}: {} → {}",
            ((change.field, change.old, change.new) for change in changed),
        )
