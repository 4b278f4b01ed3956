"""The staff work queue at /staff/: what waits for a decision, each row with its action.

Thin: the lists come from `work_queue`, every action is a service (which the audit trail
records with the signed-in user), and each action checks its own permission: viewers see the
queue, registrars act on it.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST, require_safe

from credentials.impact import credential_impact
from credentials.models import Credential
from credentials.selectors import today
from credentials.services import credential_reject, credential_verify, impact_in_words
from cspo_tracker import formats
from cspo_tracker.spreadsheets import export_response
from cspo_tracker.staff import staff_permission_required

from . import work_queue
from .models import Fee, Reminder
from .selectors import money
from .services import fee_confirm
from .tasks import reminders_send_task

PER_PAGE = 20
VERIFY = "credentials.change_credential"
CONFIRM_FEES = "seu_ledger.change_fee"
RESEND = "credentials.change_credential"  # registrars; viewers only look


def _filters(request) -> work_queue.QueueFilter:
    program = request.GET.get("program", "")
    if program not in work_queue.queue_programs():
        program = ""
    return work_queue.QueueFilter(program=program, search=request.GET.get("q", "").strip()[:100])


def _lists(filters: work_queue.QueueFilter) -> dict:
    """Each list by its name in URLs: (heading, rows)."""
    return {
        "claims": (gettext("Claims to verify"), work_queue.claims_to_verify(filters)),
        "receipts": (gettext("Fee receipts to confirm"), work_queue.receipts_to_confirm(filters)),
        "after_end": (gettext("In grace or suspended"), work_queue.holders_after_end(filters)),
        "imports": (gettext("Roster imports waiting"), work_queue.imports_waiting(filters)),
        "reminders": (gettext("Reminder emails that failed"), work_queue.reminders_failed(filters)),
    }


@require_safe
@staff_permission_required("credentials.view_credential")
def queue(request):
    """Counts and lists of what waits for staff, filtered by program and holder."""
    filters = _filters(request)
    sections = []
    for name, (heading, rows) in _lists(filters).items():
        page = Paginator(rows, PER_PAGE).get_page(request.GET.get(f"{name}_page"))
        sections.append({"name": name, "heading": heading, "page": page})
    query = request.GET.copy()
    for name in _lists(filters):
        query.pop(f"{name}_page", None)
    user = request.user
    return render(
        request,
        "staff/queue.html",
        {
            "sections": sections,
            "filters": filters,
            "programs": work_queue.queue_programs(),
            "query": query.urlencode(),
            "may_verify": user.has_perm(VERIFY),
            "may_confirm": user.has_perm(CONFIRM_FEES),
            "may_resend": user.has_perm(RESEND),
            "on": today(),
        },
    )


def _back(request):
    """Back to the queue with the filters it had."""
    query = request.POST.get("query", "")
    return redirect(reverse("staff:queue") + (f"?{query}" if query else ""))


@staff_permission_required(VERIFY)
def claim_verify(request, pk):
    """GET: what verifying the claim changes in the holder's other renewals. POST: verify it
    (the holder is emailed what changed)."""
    claim = get_object_or_404(
        Credential.objects.select_related("holder", "program__issuer"), pk=pk, verified=False
    )
    if request.method == "POST":
        credential_verify(credential=claim)
        messages.success(
            request,
            gettext("Verified {program} for {email}.").format(
                program=claim.program.code, email=claim.holder.email
            ),
        )
        return _back(request)
    changes = impact_in_words(credential_impact(holder=claim.holder, credential=claim))
    return render(
        request,
        "staff/claim_verify.html",
        {"claim": claim, "changes": changes, "query": request.GET.get("query", "")},
    )


@require_POST
@staff_permission_required(VERIFY)
def claim_reject(request, pk):
    claim = get_object_or_404(Credential.objects.select_related("holder", "program"), pk=pk)
    try:
        credential_reject(credential=claim, reason=request.POST.get("reason", ""))
    except ValidationError as error:
        messages.error(
            request,
            gettext("{program} not rejected: {reasons}").format(
                program=claim.program.code, reasons=" ".join(error.messages)
            ),
        )
    else:
        messages.success(
            request,
            gettext("Rejected {program} for {email}; they were told why.").format(
                program=claim.program.code, email=claim.holder.email
            ),
        )
    return _back(request)


@require_POST
@staff_permission_required(CONFIRM_FEES)
def receipt_confirm(request, pk):
    fee = get_object_or_404(Fee.objects.select_related("holder"), pk=pk)
    try:
        fee_confirm(fee=fee, recorded_by=request.user)
    except ValidationError as error:
        messages.error(
            request, gettext("Not confirmed: {reasons}").format(reasons=" ".join(error.messages))
        )
    else:
        messages.success(
            request,
            gettext("Confirmed the receipt {reference} of {email}.").format(
                reference=fee.reference, email=fee.holder.email
            ),
        )
    return _back(request)


@require_POST
@staff_permission_required(RESEND)
def reminder_resend(request, pk):
    """Send a failed reminder's holder their reminders now (sending claims each reminder, so
    one that has gone meanwhile is not sent twice)."""
    reminder = get_object_or_404(Reminder.objects.select_related("holder"), pk=pk)
    if not request.user.has_perm("seu_ledger.view_reminder"):
        raise PermissionDenied
    reminders_send_task.delay([reminder.holder_id], None)  # the holder's own date
    messages.success(
        request,
        gettext("Sending {email}'s reminders again.").format(email=reminder.holder.email),
    )
    return _back(request)


EXPORT_COLUMNS = {
    "claims": (
        _("holder"),
        _("email"),
        _("program"),
        _("issued on"),
        _("certificate number"),
        _("added on"),
    ),
    "receipts": (
        _("holder"),
        _("email"),
        _("renewal of"),
        _("amount"),
        _("reference"),
        _("renewal date"),
    ),
    "after_end": (
        _("holder"),
        _("email"),
        _("program"),
        _("status"),
        _("ended on"),
        _("lapses after"),
        _("days left"),
    ),
    "imports": (_("file"), _("uploaded by"), _("uploaded at"), _("rows read")),
    "reminders": (
        _("holder"),
        _("email"),
        _("program"),
        # Translators: the kind of a reminder email (a column of the failed reminders export).
        _("kind"),
        _("attempts"),
        _("last error"),
    ),
}


def _export_rows(name: str, rows):
    for row in rows:
        if name == "claims":
            yield (
                row.holder.get_full_name(),
                row.holder.email,
                row.program.code,
                row.issued_on,
                row.certificate_number,
                row.created_at.date(),
            )
        elif name == "receipts":
            yield (
                row.holder.get_full_name(),
                row.holder.email,
                row.description,
                money(row.amount, row.currency),
                row.reference,
                row.period_ends_on,
            )
        elif name == "after_end":
            yield (
                row.holder.get_full_name(),
                row.holder.email,
                row.program.code,
                row.program.after_end_label,
                row.valid_through,
                row.lapses_on,
                row.days_to_lapse,
            )
        elif name == "imports":
            yield (
                row.original_name,
                row.uploaded_by.email if row.uploaded_by else "",
                formats.moment(row.created_at),
                row.rows_read,
            )
        else:
            yield (
                row.holder.get_full_name(),
                row.holder.email,
                row.term.credential.program.code,
                row.get_kind_display(),
                row.attempts,
                row.last_error,
            )


@require_safe
@staff_permission_required("credentials.view_credential")
def queue_export(request, name: str, file_format: str):
    """One list of the queue, with the page's filters, as CSV or XLSX."""
    lists = _lists(_filters(request))
    if name not in lists:
        raise Http404("No such list.")
    heading, rows = lists[name]
    return export_response(
        file_format,
        name=f"queue-{name.replace('_', '-')}",
        header=[str(column) for column in EXPORT_COLUMNS[name]],
        rows=_export_rows(name, rows),
        sheet_title=heading[:31],
    )
