"""Top-level URL configuration."""

from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from api import pages as api_pages

from . import views

handler400 = "api.errors.bad_request"
handler500 = "api.errors.server_error"

admin.site.site_header = _("CSPO Tracker staff")
admin.site.site_title = _("CSPO Tracker staff")

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("status/", views.service_status, name="service_status"),
    path("accounts/api-tokens/", api_pages.personal_tokens, name="api_tokens"),
    path(
        "accounts/api-tokens/<int:pk>/revoke/",
        api_pages.personal_token_revoke,
        name="api_token_revoke",
    ),
    path("accounts/", include("credentials.account_urls")),
    path("", include("credentials.urls")),
    path("", include("seu_ledger.urls")),
    path("", include("badges.urls")),
    # Rosters are staff and training organisations work (each sees what it reaches).
    path("rosters/", include("credentials.roster.urls")),
    path("org/", include("credentials.organisation_urls")),
    path("staff/", include("seu_ledger.staff_urls")),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
]
