"""Pages of training organisations, for their members and platform staff."""

from django.urls import path

from . import organisation_views as views

app_name = "organisations"

urlpatterns = [
    path("", views.organisations, name="list"),
    path("<slug:slug>/", views.organisation_detail, name="detail"),
    path("<slug:slug>/logo.png", views.logo, name="logo"),
    path("<slug:slug>/courses/<int:pk>/", views.course_detail, name="course"),
    path(
        "<slug:slug>/courses/<int:pk>/attendees.csv",
        views.course_attendees_export,
        {"file_format": "csv"},
        name="course_attendees_csv",
    ),
    path(
        "<slug:slug>/courses/<int:pk>/attendees.xlsx",
        views.course_attendees_export,
        {"file_format": "xlsx"},
        name="course_attendees_xlsx",
    ),
    path("<slug:slug>/courses/<int:pk>/trainers/", views.course_trainers, name="course_trainers"),
    path("<slug:slug>/members/", views.members, name="members"),
    path("<slug:slug>/members/<int:pk>/", views.member_change, name="member_change"),
    path("<slug:slug>/branding/", views.branding, name="branding"),
    path("<slug:slug>/at-risk/", views.at_risk, name="at_risk"),
    path(
        "<slug:slug>/at-risk.csv",
        views.at_risk_export,
        {"file_format": "csv"},
        name="at_risk_csv",
    ),
    path(
        "<slug:slug>/at-risk.xlsx",
        views.at_risk_export,
        {"file_format": "xlsx"},
        name="at_risk_xlsx",
    ),
]
