"""Template filters every template has without loading them (settings: TEMPLATES builtins):
one date style and one number style for units, in the active language, from
`cspo_tracker.formats`."""

from django import template

from . import formats

register = template.Library()


@register.filter
def day(value) -> str:
    """{{ term.ends_on|day }} -> "14 May 2026"."""
    return formats.day(value)


@register.filter
def units(value) -> str:
    """{{ entry.hours|units }} -> "7.5"."""
    return formats.units(value)


@register.filter
def moment(value) -> str:
    """{{ upload.created_at|moment }} -> "14 May 2026, 09:05"."""
    return formats.moment(value)


@register.filter
def month(value) -> str:
    """{{ bar.month|month }} -> "May 2026"."""
    return formats.month(value)


@register.filter
def money(amount, currency="USD") -> str:
    """{{ fee.amount|money:fee.currency }} -> "US$100"."""
    return formats.money(amount, currency)


@register.filter
def number(value) -> str:
    """{{ total|number }} -> "1,234"."""
    return formats.number(value)
