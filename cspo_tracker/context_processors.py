"""Template context shared by every page."""

from django.conf import settings


def site(request):
    """Expose the absolute site URL, for links that must work outside the browser."""
    return {"SITE_URL": settings.SITE_URL}
