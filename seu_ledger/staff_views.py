"""Staff pages of the ledger: the program dashboard and its at-risk export. Thin: the
figures come from `reports`."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.conf import settings
from django.core.cache import cache
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from credentials.models import Credential, Program
from credentials.selectors import today
from cspo_tracker.spreadsheets import export_response
from cspo_tracker.staff import staff_permission_required

from .reports import (
    AT_RISK_DAYS,
    at_risk,
    expirations_by_month,
    expiry_window,
    fee_label,
    holders_on_track,
    status_counts,
)

SHOWN_AT_RISK = 200
ON_TRACK_SECONDS = 5 * 60
CHART_HEIGHT = 160


class AtRiskFilterForm(forms.Form):
    program = forms.ChoiceField(label=_("Program"), required=False)
    within = forms.TypedChoiceField(
        label=_("Lapsing within"),
        choices=[
            (90, _("90 days")),
            (60, _("60 days")),
            (30, _("30 days")),
            (14, _("14 days")),
            (7, _("7 days")),
        ],
        coerce=int,
        required=False,
        empty_value=AT_RISK_DAYS,
    )
    missing = forms.ChoiceField(
        label=_("Missing"),
        choices=[("", _("Units or fee")), ("units", _("Units")), ("fee", _("Fee"))],
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        codes = Program.objects.filter(validity_months__isnull=False).order_by("code")
        self.fields["program"].choices = [("", gettext("All programs"))] + [
            (code, code) for code in codes.values_list("code", flat=True)
        ]
        self.helper = FormHelper(self)
        self.helper.form_method = "get"
        self.helper.form_class = "row row-cols-sm-auto g-2 align-items-end"
        self.helper.add_input(Submit("filter", gettext("Filter"), css_class="btn-secondary"))

    def filters(self) -> dict:
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        return {
            "within_days": data.get("within") or AT_RISK_DAYS,
            "program": data.get("program") or "",
            "missing": data.get("missing") or "",
        }


def chart_width(months) -> int:
    return 20 + len(months) * 50


def chart_bars(months) -> list[dict]:
    """Bar geometry for the expirations chart, drawn as SVG by the template (no script)."""
    peak = max((m.count for m in months), default=0) or 1
    bars = []
    for index, month in enumerate(months):
        height = round(month.count * CHART_HEIGHT / peak)
        bars.append(
            {
                "month": month.month,
                "count": month.count,
                "x": 10 + index * 50,
                "y": 20 + CHART_HEIGHT - height,
                "height": height,
                "label_y": 20 + CHART_HEIGHT - height - 4,
            }
        )
    return bars


@require_safe
@staff_permission_required("credentials.view_credential")
def dashboard(request):
    on = today()
    form = AtRiskFilterForm(request.GET or None)
    filters = form.filters()
    risks = at_risk(on, **filters)
    months = expirations_by_month(on)
    first, last = expiry_window(on)
    return render(
        request,
        "staff/dashboard.html",
        {
            "on": on,
            "form": form,
            "within_days": filters.get("within_days", AT_RISK_DAYS),
            "statuses": status_counts(on),
            "months": months,
            "expiring_from": first,
            "expiring_through": last,
            "bars": chart_bars(months),
            "chart_width": chart_width(months),
            "chart_height": CHART_HEIGHT + 50,
            # Exact but costly at scale, and a pace indicator: recomputed every few minutes.
            "on_track": cache.get_or_set(
                f"staff:on-track:{on.isoformat()}", lambda: holders_on_track(on), ON_TRACK_SECONDS
            ),
            "at_risk": risks[:SHOWN_AT_RISK],
            "at_risk_count": len(risks),
            "shown": SHOWN_AT_RISK,
            "query": request.GET.urlencode(),
        },
    )


@require_safe
@staff_permission_required("credentials.view_credential")
def transcript(request, pk, term_pk):
    """Any holder's transcript of a term, for staff whose role may view credentials (an
    auditor's request); linked from the credential's admin page."""
    from .views import transcript_response

    credential = get_object_or_404(
        Credential.objects.select_related("holder", "program__issuer"), pk=pk
    )
    # The holder's saved language, else the site's: never the staff member's.
    return transcript_response(credential, term_pk, default_language=settings.LANGUAGE_CODE)


# Column names as keys for spreadsheets and scripts (the same as the organisation pages'
# export): not translated.
AT_RISK_COLUMNS = (
    "email",
    "name",
    "credentials",
    "status",
    "ends_on",
    "renew_by",
    "days_left",
    "units_counted",
    "units_required",
    "units_missing",
    "unit",
    "fee",
    "missing",
)


@require_safe
@staff_permission_required("credentials.view_credential")
def at_risk_export(request, file_format: str):
    """The at-risk list, with the dashboard's filters, as a CSV or XLSX download
    (`file_format` comes from the URL)."""
    on = today()
    form = AtRiskFilterForm(request.GET or None)
    missing = {
        ("units",): gettext("units"),
        ("fee",): gettext("fee"),
        ("units", "fee"): gettext("units and fee"),
    }
    rows = (
        (
            row.email,
            row.holder_name,
            row.label,
            row.status,
            row.ends_on,
            row.renew_by,
            row.days_left,
            # Normalised, the CSV shows units as `fmt_units` does ("20", not "20.00").
            row.units_counted.normalize(),
            row.units_required.normalize(),
            row.units_missing.normalize(),
            row.unit_name,
            fee_label(row.fee_status),
            missing.get(row.missing, " and ".join(row.missing)),
        )
        for row in at_risk(on, **form.filters())
    )
    return export_response(
        file_format,
        name=f"at-risk-{on.isoformat()}",
        header=AT_RISK_COLUMNS,
        rows=rows,
        sheet_title=gettext("At risk"),
    )
