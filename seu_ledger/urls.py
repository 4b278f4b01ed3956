"""Holder pages of the ledger."""

from django.urls import path

from . import views

app_name = "ledger"

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("activities/", views.history, name="history"),
    path(
        "activities/export.csv",
        views.history_export,
        {"file_format": "csv"},
        name="history_csv",
    ),
    path(
        "activities/export.xlsx",
        views.history_export,
        {"file_format": "xlsx"},
        name="history_xlsx",
    ),
    path("activities/new/", views.entry_create, name="entry_create"),
    path("activities/<int:pk>/edit/", views.entry_edit, name="entry_edit"),
    path("activities/<int:pk>/void/", views.entry_void, name="entry_void"),
    path("activities/<int:pk>/evidence/", views.entry_evidence, name="entry_evidence"),
    path("credentials/<int:pk>/renewal/", views.renewal, name="renewal"),
    path("credentials/<int:pk>/fee/", views.fee_submit, name="fee_submit"),
    path("credentials/<int:pk>/renew/", views.renew, name="renew"),
    path(
        "credentials/<int:pk>/renewals/<int:renewal_pk>/",
        views.renewed,
        name="renewed",
    ),
    path(
        "reminders/unsubscribe/<str:token>/",
        views.reminders_unsubscribe,
        name="reminders_unsubscribe",
    ),
    path(
        "credentials/<int:pk>/terms/<int:term_pk>/transcript.pdf",
        views.transcript,
        name="transcript",
    ),
]
