"""Form fields in Bootstrap's markup with Django's own form rendering: the hot forms (the
activity form, opened and posted every time a holder logs something) are drawn without a
layout library's template per field, a fifth of their cost. Markup and accessibility match
what crispy-forms gives the other forms: a label with a required mark, the widget with
`form-control`/`form-select` and `is-invalid`, Django's `aria-invalid` and `aria-describedby`,
the errors and the help text under it."""

from django import forms, template

register = template.Library()

CHECKS = (forms.CheckboxInput, forms.RadioSelect, forms.CheckboxSelectMultiple)


def widget_class(field) -> str:
    """Bootstrap's class for a bound field's widget, `is-invalid` added when it has errors."""
    widget = field.field.widget
    if isinstance(widget, CHECKS):
        base = "form-check-input"
    elif isinstance(widget, forms.Select):
        base = "form-select"
    else:
        base = "form-control"
    own = widget.attrs.get("class", "")
    invalid = " is-invalid" if field.errors else ""
    return f"{own} {base}{invalid}".strip()


@register.filter
def bootstrap_widget(field) -> str:
    """{{ form.title|bootstrap_widget }}: the field's widget with Bootstrap's classes."""
    return field.as_widget(attrs={"class": widget_class(field)})


@register.inclusion_tag("includes/field.html")
def form_field(field):
    """{% form_field form.title %}: label, widget, errors and help text of one field."""
    return {"field": field, "is_check": isinstance(field.field.widget, CHECKS)}
