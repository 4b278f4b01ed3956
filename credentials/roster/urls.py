"""Staff pages for roster imports."""

from django.urls import path

from . import views

app_name = "roster"

urlpatterns = [
    path("", views.roster_history, name="history"),
    path("upload/", views.roster_upload, name="upload"),
    path("template.csv", views.roster_template, name="template"),
    path("<int:pk>/", views.roster_detail, name="detail"),
    path("<int:pk>/apply/", views.roster_apply, name="apply"),
    path("<int:pk>/progress.json", views.roster_progress, name="progress"),
    path("<int:pk>/check-again/", views.roster_recheck, name="recheck"),
    path("<int:pk>/discard/", views.roster_discard, name="discard"),
    path("<int:pk>/errors.csv", views.roster_errors, name="errors"),
    path("<int:pk>/rows-to-fix.csv", views.roster_rejected, name="rejected"),
]
