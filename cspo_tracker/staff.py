"""Who may use the staff pages and admin actions: staff, with the role's permission.

Roles are Django groups created by a migration: "registrar" (imports, fees, corrections) and
"viewer" (read-only staff). Superusers have every permission.
"""

from functools import wraps

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.forms.utils import pretty_name

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


class LabelledTabularInline(admin.TabularInline):
    """A tabular inline whose every field has its own accessible name. Django labels each
    column once, in the table's header, and renders the fields without a <label>, so a screen
    reader moving between fields hears nothing (WCAG 1.3.1, 4.1.2); each visible widget gets
    its column's label as aria-label, the delete checkbox included."""

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        # The form class is made afresh for each call, so its fields are this formset's own.
        for name, field in formset.form.base_fields.items():
            if not field.widget.is_hidden:
                field.widget.attrs.setdefault("aria-label", str(field.label or pretty_name(name)))

        class Labelled(formset):
            def add_fields(self, form, index):
                super().add_fields(form, index)
                if "DELETE" in form.fields:
                    form.fields["DELETE"].widget.attrs.setdefault("aria-label", "Delete")

        Labelled.__name__ = formset.__name__
        return Labelled
