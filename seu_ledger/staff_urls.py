"""Staff pages of the ledger."""

from django.urls import path

from . import queue_views, staff_views

app_name = "staff"

urlpatterns = [
    path("", queue_views.queue, name="queue"),
    path(
        "queue/<str:name>.csv", queue_views.queue_export, {"file_format": "csv"}, name="queue_csv"
    ),
    path(
        "queue/<str:name>.xlsx",
        queue_views.queue_export,
        {"file_format": "xlsx"},
        name="queue_xlsx",
    ),
    path("claims/<int:pk>/verify/", queue_views.claim_verify, name="claim_verify"),
    path("claims/<int:pk>/reject/", queue_views.claim_reject, name="claim_reject"),
    path("receipts/<int:pk>/confirm/", queue_views.receipt_confirm, name="receipt_confirm"),
    path("reminders/<int:pk>/resend/", queue_views.reminder_resend, name="reminder_resend"),
    path("program/", staff_views.dashboard, name="dashboard"),
    path("at-risk.csv", staff_views.at_risk_export, {"file_format": "csv"}, name="at_risk_csv"),
    path("at-risk.xlsx", staff_views.at_risk_export, {"file_format": "xlsx"}, name="at_risk_xlsx"),
    path(
        "credentials/<int:pk>/terms/<int:term_pk>/transcript.pdf",
        staff_views.transcript,
        name="transcript",
    ),
]
