"""Emails that tell a holder what just happened to their renewal: renewed, fee confirmed or
waived. Each is queued once the transaction that did it commits (a rolled-back renewal tells
nobody), rendered from what is true then, and carries a Message-ID named after the event, so a
retried send is a copy, not a second email."""

from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext

from credentials.accounts import account_email
from cspo_tracker import formats
from cspo_tracker.links import absolute_url
from cspo_tracker.locale import reading_as

from .models import Fee, Renewal
from .selectors import fmt_units, holder_ledger, money, pick_fee, renewal_plan


def renewal_done_notify(*, renewals: list[Renewal]) -> None:
    """Confirm a renewal to its holder: each credential's new term, the units it used, the
    fee (one email for a group renewing together)."""
    if not renewals:
        return
    first = renewals[0]

    def send():
        closed = first.closed_term
        credential = closed.credential
        with reading_as(credential.holder, default_language=settings.LANGUAGE_CODE):
            _renewal_done_send(renewals, first, credential)

    transaction.on_commit(send, robust=True)


def _renewal_done_send(renewals: list[Renewal], first: Renewal, credential) -> None:
    holder = credential.holder
    terms = [
        {
            "code": r.new_term.credential.program.code,
            "starts_on": formats.day(r.new_term.starts_on),
            "ends_on": formats.day(r.new_term.ends_on),
        }
        for r in renewals
    ]
    fee = first.fee
    account_email(
        to=holder.email,
        template="renewal_done",
        context={
            "user": holder,
            "label": " + ".join(t["code"] for t in terms),
            "terms": terms,
            "renewed_on": formats.day(first.renewed_on),
            # Translators: units a renewal counted: "20 of 20 SEU".
            "units": gettext("{counted} of {required} {unit}").format(
                counted=fmt_units(first.units_counted),
                required=fmt_units(first.units_required),
                unit=credential.program.unit_name,
            ),
            "entries": first.entries.count(),
            "carried": fmt_units(sum((c.units for c in first.carried_units.all()), Decimal(0))),
            "fee": _fee_words(fee),
            "renewal_url": absolute_url("ledger:renewal", credential.pk),
        },
        key=f"renewal-{first.pk}",
    )


def _fee_words(fee: Fee | None) -> str:
    """A renewal's fee in the confirmation email: "US$100 paid (reference R-1)", or "none"."""
    if fee is None:
        return gettext("none")
    values = {
        "amount": money(fee.amount, fee.currency),
        "status": fee.get_status_display().lower(),
        "reference": fee.reference,
    }
    if fee.reference:
        # Translators: a renewal's fee: its amount, its status in lower case ("paid", "waived")
        # and the issuer's receipt reference.
        return gettext("{amount} {status} (reference {reference})").format(**values)
    return gettext("{amount} {status}").format(**values)


def fee_settled_notify(*, fee: Fee) -> None:
    """Tell the holder staff confirmed (or waived) their renewal fee, and what comes next."""
    fee_id = fee.pk

    def send():
        settled = Fee.objects.select_related("holder").get(pk=fee_id)
        with reading_as(settled.holder, default_language=settings.LANGUAGE_CODE):
            _fee_settled_send(settled)

    transaction.on_commit(send, robust=True)


def _fee_settled_send(settled: Fee) -> None:
    holder = settled.holder
    ledger = holder_ledger(holder.pk)
    # The group this fee pays for: the one whose coming renewal it would be used by.
    group = next((g for g in ledger.groups if pick_fee(g, [settled]) == settled), None)
    step = None
    if group is not None:
        step = renewal_plan(holder.pk, group.top.pk).card.next_step
    account_email(
        to=holder.email,
        template="fee_settled",
        context={
            "user": holder,
            "label": group.label if group else settled.description,
            "waived": settled.status == Fee.Status.WAIVED,
            "amount": money(settled.amount, settled.currency),
            "reference": settled.reference,
            "next_step": step.text if step else "",
            "renewal_url": absolute_url("ledger:renewal", group.top.pk)
            if group
            else absolute_url("ledger:dashboard"),
        },
        key=f"fee-{settled.pk}-{settled.status}-{settled.recorded_at:%Y%m%d%H%M%S%f}",
    )
