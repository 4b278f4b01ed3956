"""Emails that tell a holder what just happened to their renewal: renewed, fee confirmed or
waived. Each is queued once the transaction that did it commits (a rolled-back renewal tells
nobody), rendered from what is true then, and carries a Message-ID named after the event, so a
retried send is a copy, not a second email."""

from django.db import transaction

from credentials.accounts import account_email
from credentials.models import Credential
from cspo_tracker import formats
from cspo_tracker.links import absolute_url

from .models import Fee, Renewal
from .selectors import fmt_units, money, renewal_plan


def renewal_done_notify(*, renewals: list[Renewal]) -> None:
    """Confirm a renewal to its holder: each credential's new term, the units it used, the
    fee (one email for a group renewing together)."""
    if not renewals:
        return
    first = renewals[0]

    def send():
        closed = first.closed_term
        credential = closed.credential
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
                "units": f"{fmt_units(first.units_counted)} of {fmt_units(first.units_required)}"
                f" {credential.program.unit_name}",
                "entries": first.entries.count(),
                "fee": (
                    f"{money(fee.amount, fee.currency)} {fee.get_status_display().lower()}"
                    + (f" (reference {fee.reference})" if fee.reference else "")
                    if fee
                    else "none"
                ),
                "renewal_url": absolute_url("ledger:renewal", credential.pk),
            },
            key=f"renewal-{first.pk}",
        )

    transaction.on_commit(send)


def fee_settled_notify(*, fee: Fee) -> None:
    """Tell the holder staff confirmed (or waived) their renewal fee, and what comes next."""
    fee_id = fee.pk

    def send():
        settled = Fee.objects.select_related("holder", "credential").get(pk=fee_id)
        holder = settled.holder
        credential = settled.credential or (
            Credential.objects.filter(holder=holder, program__issuer_id=settled.issuer_id)
            .order_by("-program__level")
            .first()
        )
        plan = renewal_plan(holder.pk, credential.pk) if credential else None
        step = plan.card.next_step if plan else None
        account_email(
            to=holder.email,
            template="fee_settled",
            context={
                "user": holder,
                "label": plan.group.label if plan else settled.description,
                "waived": settled.status == Fee.Status.WAIVED,
                "amount": money(settled.amount, settled.currency),
                "reference": settled.reference,
                "note": settled.note,
                "next_step": step.text if step else "",
                "renewal_url": absolute_url("ledger:renewal", credential.pk)
                if credential
                else absolute_url("ledger:dashboard"),
            },
            key=f"fee-{settled.pk}-{settled.status}",
        )

    transaction.on_commit(send)
