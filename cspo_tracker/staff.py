"""Who may use the staff pages and admin actions: staff, with the role's permission.

Roles are Django groups created by a migration: "registrar" (imports, fees, corrections) and
"viewer" (read-only staff). Superusers have every permission.
"""

from functools import wraps

from django import forms
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied
from django.forms.utils import pretty_name
from django.utils.translation import gettext

REGISTRAR, VIEWER = "registrar", "viewer"


def staff_permission_required(permission: str):
    """Staff only (others are sent to the staff sign-in), and 403 without `permission`."""

    def decorator(view):
        @wraps(view)
        @staff_member_required
        def wrapper(request, *args, **kwargs):
            if not request.user.has_perm(permission):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


class ActionPermissionMixin:
    """A ModelAdmin whose actions answer 403, not a quiet "no action selected", to someone
    whose role does not allow them (each action names its permission)."""

    def changelist_view(self, request, extra_context=None):
        action = request.POST.get("action") if request.method == "POST" else None
        if action and action not in self.get_actions(request):
            raise PermissionDenied
        return super().changelist_view(request, extra_context)


class ReadOnlyAdminMixin:
    """A ModelAdmin for records nobody edits by hand (reminders, the audit trail)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RowAutocompleteSelect(AutocompleteSelect):
    """An autocomplete box that names the object its row already loaded. Django's asks the
    database for the chosen object's name once per box: once per row in an inline, 500 times
    for a course of 500 attendees."""

    loaded = None  # the row's chosen object, set on each form's own copy of the widget

    def optgroups(self, name, value, attr=None):
        chosen = {str(v) for v in value if str(v) not in self.choices.field.empty_values}
        if self.loaded is None or chosen != {str(self.loaded.pk)}:
            return super().optgroups(name, value, attr)
        options = []
        if not self.is_required:
            options.append(self.create_option(name, "", "", False, 0))
        label = self.choices.field.label_from_instance(self.loaded)
        options.append(self.create_option(name, self.loaded.pk, label, True, len(options)))
        return [(None, options, 0)]


class LabelledTabularInline(admin.TabularInline):
    """A tabular inline whose every field has its own accessible name, and whose cost does not
    grow with its rows.

    Django labels each column once, in the table's header, and renders the fields without a
    <label>, so a screen reader moving between fields hears nothing (WCAG 1.3.1, 4.1.2); each
    visible widget gets its column's label as aria-label, the delete checkbox included.

    Each row's select would read its choices again, each autocomplete box its chosen object,
    and each row's title the page's object it belongs to: a select's choices are read once for
    all rows, the autocomplete fields are loaded with the rows, and every row shares the page's
    object. What else a row names (read-only columns, its title) is the subclass's to load, in
    `get_queryset` with `select_related`."""

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        autocomplete = self.get_autocomplete_fields(request)
        # (With no names, select_related would follow every key.)
        return queryset.select_related(*autocomplete) if autocomplete else queryset

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in self.get_autocomplete_fields(request):
            kwargs.setdefault(
                "widget",
                RowAutocompleteSelect(db_field, self.admin_site, using=kwargs.get("using")),
            )
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if (
            field is not None
            and type(field.widget) is forms.Select
            and not self._to_parent(db_field)
            and not db_field.get_limit_choices_to()  # a form applies it to the queryset only
        ):
            field.choices = list(field.choices)  # validation still checks the queryset
        return field

    def _to_parent(self, db_field) -> bool:
        """The key to the page's object, which the formset replaces by a hidden field."""
        if self.fk_name:
            return db_field.name == self.fk_name
        return db_field.related_model is self.parent_model

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        # The form class is made afresh for each call, so its fields are this formset's own.
        for name, field in formset.form.base_fields.items():
            if not field.widget.is_hidden:
                field.widget.attrs.setdefault("aria-label", str(field.label or pretty_name(name)))
        autocomplete = self.get_autocomplete_fields(request)

        class Labelled(formset):
            def add_fields(self, form, index):
                super().add_fields(form, index)
                if "DELETE" in form.fields:
                    form.fields["DELETE"].widget.attrs.setdefault("aria-label", gettext("Delete"))
                if form.instance.pk:
                    # A row's title often names the page's object: the one already loaded.
                    setattr(form.instance, self.fk.name, self.instance)
                    for name in autocomplete:
                        widget = getattr(form.fields.get(name), "widget", None)
                        widget = getattr(widget, "widget", widget)  # inside the add/change links
                        if isinstance(widget, RowAutocompleteSelect):
                            widget.loaded = getattr(form.instance, name)

        Labelled.__name__ = formset.__name__
        return Labelled
