"""Open Badges: documents for verifiers (stable URLs), the public check, the holder's pages."""

from django.urls import path

from . import views

app_name = "badges"

urlpatterns = [
    path(".well-known/did.json", views.did_document, name="did_document"),
    path(".well-known/jwks.json", views.jwks, name="jwks"),
    path("badges/issuers/<slug:code>.json", views.issuer, name="issuer"),
    path("badges/achievements/<str:code>.json", views.achievement, name="achievement"),
    path("badges/achievements/<str:code>.png", views.achievement_image, name="achievement_image"),
    path("badges/status/<str:purpose>/<int:number>", views.status_list, name="status_list"),
    path("verify/check/", views.check, name="check"),
    path("credentials/<int:pk>/badge/", views.share, name="share"),
    path("credentials/<int:pk>/badge.<str:fmt>", views.download, name="download"),
]
