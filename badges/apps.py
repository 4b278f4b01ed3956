from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BadgesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "badges"
    verbose_name = _("Open Badges")

    def ready(self):
        from . import checks, receivers  # noqa: F401  (system checks and signal receivers)
