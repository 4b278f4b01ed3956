"""Small display helpers for ledger pages."""

from django import template
from django.utils.translation import gettext

from credentials.templatetags.credential_status import status_badge

from ..models import Fee
from ..reports import fee_label
from ..selectors import fmt_units, money

register = template.Library()

# The ledger's pages load this library; the colours themselves are the credentials app's.
register.filter("status_badge", status_badge)


@register.filter
def units(value) -> str:
    return "0" if value is None else fmt_units(value)


@register.filter
def abs_value(value) -> int:
    return abs(value)


@register.filter
def fee_text(requirements) -> str:
    """The renewal fee and where it stands, in words."""
    group = requirements.group
    if not group.fee_required:
        return gettext("none")
    amount = money(group.fee_amount, group.currency) or gettext("set by staff")
    fee = requirements.fee
    status = fee.status if fee else Fee.Status.DUE
    text = {
        # Translators: {amount} is a sum of money ("US$100") or "set by staff".
        Fee.Status.PAID: gettext("{amount}, paid"),
        Fee.Status.WAIVED: gettext("{amount}, waived"),
        Fee.Status.SUBMITTED: gettext("{amount}, paid, awaiting confirmation"),
    }.get(status) or gettext("{amount}, due")
    return text.format(amount=amount)


@register.filter
def fee_status_label(status: str) -> str:
    return fee_label(status)


@register.filter
def labelled(values, statuses) -> list[tuple[str, object]]:
    """Pair each value of a row with its status's label, for cells that name their column
    (the staff tables stack into cards on phones, each cell showing its label)."""
    return list(zip((status.label for status in statuses), values, strict=True))


@register.filter
def fee_amount(fee) -> str:
    """A fee row's amount as holders see it ("US$100"); "" when staff have not set it."""
    return money(fee.amount, fee.currency)
