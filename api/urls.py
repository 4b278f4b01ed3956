"""/api/v1/: the routes, the OpenAPI schema and its reference page."""

from django.conf import settings
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny
from rest_framework.routers import DefaultRouter

from . import errors, views
from .throttling import PerAddress

app_name = "api"


class Router(DefaultRouter):
    include_root_view = False
    include_format_suffixes = False  # JSON only: no /programs.json twins of every route


router = Router()
router.register("programs", views.ProgramViewSet, basename="program")
router.register("categories", views.CategoryViewSet, basename="category")
router.register("holders", views.HolderViewSet, basename="holder")
router.register("credentials", views.CredentialViewSet, basename="credential")
router.register("roster-imports", views.RosterImportViewSet, basename="roster-import")
router.register("reminders", views.ReminderViewSet, basename="reminder")
router.register("me/credentials", views.MyCredentialViewSet, basename="my-credential")
router.register("me/entries", views.MyEntryViewSet, basename="my-entry")
router.register("webhook-endpoints", views.WebhookEndpointViewSet, basename="webhook-endpoint")
router.register("webhook-deliveries", views.DeliveryViewSet, basename="webhook-delivery")

urlpatterns = [
    path(
        "v1/schema/",
        SpectacularAPIView.as_view(
            permission_classes=[AllowAny],
            authentication_classes=[],
            throttle_classes=[PerAddress],
            # The version is ours, never a query parameter (it went into a header unchecked).
            api_version=settings.SPECTACULAR_SETTINGS["VERSION"],
        ),
        name="schema",
    ),
    path(
        "v1/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api:schema",
            permission_classes=[AllowAny],
            authentication_classes=[],
            throttle_classes=[PerAddress],
        ),
        name="docs",
    ),
    path("v1/", include(router.urls)),
    re_path(r"^.*$", errors.not_found),
]
