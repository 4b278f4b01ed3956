"""Holder and public pages of the credentials app."""

from django.urls import path

from . import views

app_name = "credentials"

urlpatterns = [
    path("credentials/add/", views.credential_claim, name="claim"),
    path("calendar/", views.calendar, name="calendar"),
    path("calendar/<str:token>.ics", views.calendar_feed, name="calendar_feed"),
    path("verify/<uuid:code>/", views.verify, name="verify"),
    path("verify/<uuid:code>/qr.svg", views.verify_qr, name="verify_qr"),
    path("verify/<uuid:code>.json", views.verify_json, name="verify_json"),
]
