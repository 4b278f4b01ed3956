from django.apps import AppConfig


class BadgesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "badges"
    verbose_name = "Open Badges"

    def ready(self):
        from . import checks, receivers  # noqa: F401  (system checks and signal receivers)
