from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CredentialsConfig(AppConfig):
    """Holders, programs, courses and the credentials they earn."""

    name = "credentials"
    verbose_name = _("Credentials")

    def ready(self):
        from . import preferences  # noqa: F401 - connects the sign-in receiver
