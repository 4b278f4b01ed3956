"""Staff pages of the ledger."""

from django.urls import path

from . import staff_views

app_name = "staff"

urlpatterns = [
    path("", staff_views.dashboard, name="dashboard"),
    path("at-risk.csv", staff_views.at_risk_export, {"file_format": "csv"}, name="at_risk_csv"),
    path("at-risk.xlsx", staff_views.at_risk_export, {"file_format": "xlsx"}, name="at_risk_xlsx"),
    path(
        "credentials/<int:pk>/terms/<int:term_pk>/transcript.pdf",
        staff_views.transcript,
        name="transcript",
    ),
]
