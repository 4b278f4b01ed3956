"""Staff pages for roster imports: upload and check, confirm, watch progress, history."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.timezone import localtime
from django.views.decorators.http import require_GET, require_POST

from cspo_tracker.staff import staff_permission_required

from ..forms import CrispySubmitMixin
from ..models import RosterImport
from .imports import errors_csv, roster_import_check, roster_import_queue, template_csv
from .parse import COLUMN_HELP, REQUIRED_COLUMNS

SHOWN_ERRORS = 200


class RosterUploadForm(CrispySubmitMixin, forms.Form):
    submit_label = "Check the roster"
    file = forms.FileField(
        help_text="CSV (UTF-8 or Windows-1252; comma, semicolon or tab) or XLSX. Nothing is "
        "written until you confirm.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,.txt"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.ROSTER_MAX_BYTES
        if upload.size > limit:
            raise ValidationError(
                f"The file is {upload.size / 2**20:,.1f} MB; the limit is {limit / 2**20:,.0f} MB."
            )
        return upload


@staff_permission_required("credentials.add_rosterimport")
def roster_upload(request):
    form = RosterUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        record = roster_import_check(data=upload.read(), name=upload.name, uploaded_by=request.user)
        return redirect("roster:detail", pk=record.pk)
    columns = [(name, name in REQUIRED_COLUMNS, text) for name, text in COLUMN_HELP.items()]
    return render(request, "roster/upload.html", {"form": form, "columns": columns})


@require_GET
@staff_permission_required("credentials.view_rosterimport")
def roster_template(request):
    response = HttpResponse(template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="roster-template.csv"'
    return response


@require_GET
@staff_permission_required("credentials.view_rosterimport")
def roster_detail(request, pk):
    record = get_object_or_404(RosterImport.objects.select_related("uploaded_by"), pk=pk)
    return render(
        request,
        "roster/detail.html",
        {
            "record": record,
            "errors": record.errors[:SHOWN_ERRORS],
            "more_errors": max(0, len(record.errors) - SHOWN_ERRORS),
            "totals": [
                (key.replace("_", " ").capitalize(), value) for key, value in record.totals.items()
            ],
            "summary": [
                (k.replace("_", " ").capitalize(), v) for k, v in record.summary.items() if v
            ],
            "unchanged": record.totals.get("valid_rows")
            and record.totals.get("unchanged_rows") == record.totals.get("valid_rows"),
            "stuck": record.is_stuck(),
            "retry_pending": record.retry_pending(),
        },
    )


@require_POST
@staff_permission_required("credentials.add_rosterimport")
def roster_apply(request, pk):
    record = get_object_or_404(RosterImport, pk=pk)
    try:
        roster_import_queue(record=record, only_valid_rows=request.POST.get("only_valid") == "1")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Import queued. This page follows its progress.")
    return redirect("roster:detail", pk=record.pk)


@require_GET
@staff_permission_required("credentials.view_rosterimport")
def roster_progress(request, pk):
    record = get_object_or_404(RosterImport, pk=pk)
    label = record.get_status_display()
    if record.retry_pending():
        label += (
            f" (the database did not answer; next attempt at {localtime(record.retry_at):%H:%M:%S})"
        )
    return JsonResponse(
        {
            "status": record.status,
            "status_label": label,
            "rows_done": record.rows_done,
            "rows_total": record.rows_total,
            "percent": record.percent_done,
            "finished": record.status in (RosterImport.Status.DONE, RosterImport.Status.FAILED),
            "stuck": record.is_stuck(),
            "retry_at": record.retry_at.isoformat() if record.retry_at else None,
        }
    )


@require_GET
@staff_permission_required("credentials.view_rosterimport")
def roster_errors(request, pk):
    record = get_object_or_404(RosterImport, pk=pk)
    response = HttpResponse(errors_csv(record), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="roster-{record.pk}-errors.csv"'
    return response


@require_GET
@staff_permission_required("credentials.view_rosterimport")
def roster_history(request):
    records = RosterImport.objects.select_related("uploaded_by")[:200]
    return render(request, "roster/history.html", {"records": records})
