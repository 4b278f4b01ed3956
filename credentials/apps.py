from django.apps import AppConfig


class CredentialsConfig(AppConfig):
    """Holders, programs, courses and the credentials they earn."""

    name = "credentials"
    verbose_name = "Credentials"
