"""Staff pages for roster imports: upload (checked by a worker), confirm or discard, watch
progress, history, and the files staff download (template, problems, rejected rows)."""

from functools import wraps

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import get_valid_filename
from django.utils.timezone import localtime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST, require_safe

from cspo_tracker.spreadsheets import csv_response

from ..forms import CrispySubmitMixin
from ..models import RosterImport
from ..organisations import (
    is_platform_staff,
    may_use_rosters,
    organisations_for_upload,
    roster_imports_visible_to,
)
from .imports import (
    errors_header,
    errors_rows,
    rejected_rows,
    roster_file_bytes,
    roster_import_discard,
    roster_import_queue,
    roster_import_recheck,
    roster_import_upload,
    template_rows,
)
from .parse import COLUMN_HELP, ENCODINGS, REQUIRED_COLUMNS, RosterFileError

SHOWN_ERRORS = 200
ENCODING_CHOICES = [("", _("Detect it (UTF-8, else Windows-1252)")), *ENCODINGS.items()]

# What the check found, before anything is written.
TOTAL_LABELS = {
    "rows": _("Rows in the file"),
    "valid_rows": _("Valid rows"),
    "rows_with_errors": _("Rows with problems"),
    "new_holders": _("New holders"),
    "new_courses": _("New courses"),
    "attendances": _("Attendances to record or correct"),
    "credentials_to_issue": _("Credentials to issue"),
    "unchanged_rows": _("Rows already up to date"),
}
# What applying did, in plain words.
SUMMARY_LABELS = {
    "holders_created": _("Holders added"),
    "holders_updated": _("Holders' names corrected"),
    "memberships_created": _("Member numbers recorded"),
    "courses_created": _("Courses added"),
    "courses_updated": _("Courses corrected"),
    "credentials_redated": _("Credentials moved to corrected course dates"),
    "attendances_created": _("Attendances recorded"),
    "attendances_updated": _("Attendances corrected"),
    "claims_verified": _("Self-reported credentials verified"),
    "credentials_issued": _("Credentials issued"),
    "units_entries_logged": _("Learning activities logged for holders (one per course day)"),
    "rows_out_of_reach": _("Rows left: their course became another organisation's or trainer's"),
}


# What an organisation's import is not told: whether its attendees had accounts, or had
# claimed the credential themselves (it is told the credentials issued, claims included).
PRIVATE_SUMMARY = ("holders_created", "holders_updated", "memberships_created")


def outcome(record: RosterImport) -> list[tuple[str, int]]:
    """What an applied import did: each change it made, the rows it skipped for their
    problems, and the rows that were already up to date. An organisation's import says
    nothing of the accounts it found (`PRIVATE_SUMMARY`)."""
    order = list(SUMMARY_LABELS)
    summary = dict(record.summary)
    if record.organisation_id:
        for key in PRIVATE_SUMMARY:
            summary.pop(key, None)
        summary["credentials_issued"] = summary.get("credentials_issued", 0) + summary.pop(
            "claims_verified", 0
        )
    changes = sorted(
        (key for key, value in summary.items() if value),
        key=lambda key: order.index(key) if key in order else len(order),
    )
    done = [(SUMMARY_LABELS.get(key, key), summary[key]) for key in changes]
    skipped = len({error["line"] for error in record.errors if error["line"]})
    if skipped:
        done.append((gettext("Rows skipped for their problems"), skipped))
    if record.totals.get("unchanged_rows"):
        done.append((TOTAL_LABELS["unchanged_rows"], record.totals["unchanged_rows"]))
    return done


def roster_access(permission: str):
    """Signed in (else sent to sign in), and platform staff with `permission` or a member of
    a training organisation (else 403). Each view then reaches only the imports
    `roster_imports_visible_to` gives the user: another organisation's answer 404."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(request, *args, **kwargs):
            if not may_use_rosters(request.user, permission):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def _visible(request, pk, permission: str = "credentials.view_rosterimport") -> RosterImport:
    """The import, among those the user reaches for what `permission` allows (else 404)."""
    return get_object_or_404(roster_imports_visible_to(request.user, permission), pk=pk)


class RosterUploadForm(CrispySubmitMixin, forms.Form):
    submit_label = _("Check the roster")
    organisation = forms.ModelChoiceField(
        label=_("For the organisation"),
        queryset=None,
        required=False,
        help_text=_(
            "Its rows may name only this organisation's courses; new course codes "
            "become its courses."
        ),
    )
    file = forms.FileField(
        label=_("File"),
        help_text=_(
            "CSV (UTF-8, or Windows-1252; comma, semicolon or tab) or XLSX. Nothing is "
            "written until you confirm."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,.txt"}),
    )
    encoding = forms.ChoiceField(
        label=_("Encoding of a CSV"),
        choices=ENCODING_CHOICES,
        required=False,
        help_text=_("Leave it to detection unless names came out wrong."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["organisation"]
        field.queryset = organisations_for_upload(user).defer("logo")
        if is_platform_staff(user, "credentials.add_rosterimport"):
            field.empty_label = gettext("None: the platform's own courses")
        else:
            # A trainer or organisation admin always uploads for one of their organisations.
            field.required = True
            field.empty_label = None
        self.order_fields(["organisation", "file", "encoding"])

    def clean_file(self):
        upload = self.cleaned_data["file"]
        self.data_bytes = roster_file_bytes(upload)
        return upload


class RecheckForm(forms.Form):
    encoding = forms.ChoiceField(label=_("Read it as"), choices=ENCODING_CHOICES, required=False)


@roster_access("credentials.add_rosterimport")
def roster_upload(request):
    form = RosterUploadForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        record = roster_import_upload(
            data=form.data_bytes,
            name=upload.name,
            uploaded_by=request.user,
            encoding=form.cleaned_data["encoding"],
            organisation=form.cleaned_data["organisation"],
        )
        return redirect("roster:detail", pk=record.pk)
    columns = [(name, name in REQUIRED_COLUMNS, text) for name, text in COLUMN_HELP.items()]
    return render(request, "roster/upload.html", {"form": form, "columns": columns})


@roster_access("credentials.view_rosterimport")
@require_safe
def roster_template(request):
    header, rows = template_rows()
    return csv_response(filename="roster-template.csv", header=header, rows=rows)


@roster_access("credentials.view_rosterimport")
@require_safe
def roster_detail(request, pk):
    record = get_object_or_404(
        roster_imports_visible_to(request.user)
        .select_related("uploaded_by", "organisation")
        .defer("organisation__logo"),
        pk=pk,
    )
    checked = record.status in (RosterImport.Status.VALIDATED, RosterImport.Status.REJECTED)
    unchanged = bool(
        record.totals.get("valid_rows")
        and record.totals.get("unchanged_rows") == record.totals.get("valid_rows")
    )
    return render(
        request,
        "roster/detail.html",
        {
            "record": record,
            "errors": record.errors[:SHOWN_ERRORS],
            "more_errors": max(0, len(record.errors) - SHOWN_ERRORS),
            "rejected_lines": len({error["line"] for error in record.errors if error["line"]}),
            "totals": [(TOTAL_LABELS.get(key, key), value) for key, value in record.totals.items()],
            "outcome": outcome(record) if record.status == RosterImport.Status.DONE else [],
            "unchanged": unchanged,
            "can_import": (record.status == RosterImport.Status.VALIDATED and not unchanged)
            or record.status == RosterImport.Status.FAILED
            or (record.is_stuck() and record.status != RosterImport.Status.CHECKING),
            "can_discard": checked,
            # Another encoding helps a CSV that was read (names to check) or refused for its
            # bytes; not an XLSX, nor a file refused for its header.
            "recheck": RecheckForm(initial={"encoding": record.encoding})
            if checked
            and record.file
            and (record.read_as.get("format") == "CSV" or record.read_as.get("encoding_problem"))
            else None,
            "more_samples": max(
                0, record.read_as.get("accented_rows", 0) - len(record.read_as.get("samples", []))
            ),
            "stuck": record.is_stuck(),
            "retry_pending": record.retry_pending(),
        },
    )


def _answer(request, record, action, done: str):
    try:
        action()
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done)
    return redirect("roster:detail", pk=record.pk)


@roster_access("credentials.add_rosterimport")
@require_POST
def roster_apply(request, pk):
    record = _visible(request, pk, "credentials.add_rosterimport")
    only_valid = request.POST.get("only_valid") == "1"
    return _answer(
        request,
        record,
        lambda: roster_import_queue(record=record, only_valid_rows=only_valid),
        gettext("Import queued. This page follows its progress."),
    )


@roster_access("credentials.add_rosterimport")
@require_POST
def roster_recheck(request, pk):
    record = _visible(request, pk, "credentials.add_rosterimport")
    form = RecheckForm(request.POST)
    encoding = form.cleaned_data["encoding"] if form.is_valid() else "?"
    return _answer(
        request,
        record,
        lambda: roster_import_recheck(record=record, encoding=encoding),
        gettext("Checking the file again. This page follows its progress."),
    )


@roster_access("credentials.add_rosterimport")
@require_POST
def roster_discard(request, pk):
    record = _visible(request, pk, "credentials.add_rosterimport")
    return _answer(
        request,
        record,
        lambda: roster_import_discard(record=record),
        gettext("Discarded."),
    )


@roster_access("credentials.view_rosterimport")
@require_safe
def roster_progress(request, pk):
    record = _visible(request, pk)
    label = record.get_status_display()
    if record.retry_pending():
        # Translators: {status} is the import's status ("Applying"), {time} a time of day.
        label = gettext("{status} (the database did not answer; next attempt at {time})").format(
            status=label, time=f"{localtime(record.retry_at):%H:%M:%S}"
        )
    return JsonResponse(
        {
            "status": record.status,
            "status_label": label,
            "rows_read": record.rows_read,
            "rows_done": record.rows_done,
            "rows_total": record.rows_total,
            "percent": record.percent_done,
            "finished": record.status not in RosterImport.IN_PROGRESS,
            "stuck": record.is_stuck(),
            "retry_at": record.retry_at.isoformat() if record.retry_at else None,
        }
    )


def _stem(record: RosterImport) -> str:
    return get_valid_filename(record.original_name.rsplit(".", 1)[0]) or f"roster-{record.pk}"


@roster_access("credentials.view_rosterimport")
@require_safe
def roster_errors(request, pk):
    record = _visible(request, pk)
    return csv_response(
        filename=f"{_stem(record)}-problems.csv", header=errors_header(), rows=errors_rows(record)
    )


@roster_access("credentials.view_rosterimport")
@require_safe
def roster_rejected(request, pk):
    """The rejected rows as a file to fix and upload again."""
    record = _visible(request, pk)
    if not record.file or not any(error["line"] for error in record.errors):
        raise Http404("No rejected rows to download.")
    try:
        header, rows = rejected_rows(record)
    except (RosterFileError, OSError) as gone:  # the stored file is gone or unreadable now
        raise Http404("The file of this import cannot be read any more.") from gone
    return csv_response(filename=f"{_stem(record)}-to-fix.csv", header=header, rows=rows)


@roster_access("credentials.view_rosterimport")
@require_safe
def roster_history(request):
    records = list(
        roster_imports_visible_to(request.user)
        .select_related("uploaded_by", "organisation")
        .defer("organisation__logo")[:200]
    )
    for record in records:
        record.outcome = outcome(record) if record.status == RosterImport.Status.DONE else []
    return render(request, "roster/history.html", {"records": records})
