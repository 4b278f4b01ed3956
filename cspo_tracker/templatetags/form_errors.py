"""The error summary above a form: every problem in one list, each linked to its field."""

from typing import NamedTuple

from django import template
from django.forms.forms import NON_FIELD_ERRORS
from django.utils.translation import gettext

register = template.Library()


class ErrorItem(NamedTuple):
    href: str  # "#id_title", or "" for an error of the whole form
    text: str


@register.filter
def error_summary_items(form) -> list[ErrorItem]:
    """Each error of the form in the order the fields are shown, those of the whole form
    first. A message that does not start with its field's label gets it in front ("Title:
    This field is required."), since the list is read away from the fields."""
    items = [ErrorItem("", str(message)) for message in form.errors.get(NON_FIELD_ERRORS, [])]
    for bound in form:
        label = str(bound.label or "")
        href = "" if bound.is_hidden else f"#{bound.id_for_label}"
        for message in bound.errors:
            message = str(message)
            if label and not message.lower().startswith(label.lower()):
                # Translators: a form error in the list above the form, after its field's label.
                message = gettext("{label}: {message}").format(label=label, message=message)
            items.append(ErrorItem(href, message))
    return items
