"""Staff pages of the ledger."""

from django.urls import path

from . import staff_views

app_name = "staff"

urlpatterns = [
    path("", staff_views.dashboard, name="dashboard"),
    path("at-risk.csv", staff_views.at_risk_csv, name="at_risk_csv"),
    path(
        "credentials/<int:pk>/terms/<int:term_pk>/transcript.pdf",
        staff_views.transcript,
        name="transcript",
    ),
]
