"""Settings of the test OpenID Connect provider: a standalone Django project on its own SQLite
database, apart from the tracker's.

Environment:
- OIDC_PROVIDER_DIR (required): the provider's folder, holding its database, its Django secret
  key and its RS256 signing key (both made on first use and kept there).
- OIDC_PROVIDER_ISSUER (optional): the issuer it announces, e.g. http://127.0.0.1:8123/o. Without
  it django-oauth-toolkit derives it from each request's Host.
"""

import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

HERE = Path(__file__).resolve().parent
PROVIDER_DIR = Path(os.environ["OIDC_PROVIDER_DIR"])


def _kept(name: str, make) -> str:
    """The text of PROVIDER_DIR/name, made once with make() (written whole, so a second process
    reading at the same moment sees the old state or the finished file)."""
    path = PROVIDER_DIR / name
    if not path.exists():
        PROVIDER_DIR.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{name}.{os.getpid()}")
        partial.write_text(make())
        partial.chmod(0o600)
        if not path.exists():
            partial.replace(path)
        else:
            partial.unlink()
    return path.read_text()


def _rsa_private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


SECRET_KEY = _kept("django-secret-key", lambda: secrets.token_urlsafe(50))
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "oauth2_provider",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "tests.oidc_provider.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [HERE / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": PROVIDER_DIR / "provider.sqlite3",
        # The setup module writes users and redirect URIs while the server runs.
        "OPTIONS": {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# A throwaway provider: a fast hasher keeps sign-ins quick.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "/accounts/login/"
USE_TZ = True
TIME_ZONE = "UTC"

OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": _kept("oidc-rs256.pem", _rsa_private_key),
    "OIDC_ISS_ENDPOINT": os.environ.get("OIDC_PROVIDER_ISSUER", ""),
    "SCOPES": {
        "openid": "OpenID Connect",
        "email": "Your email address",
        "profile": "Your name",
    },
    "DEFAULT_SCOPES": ["openid"],
    "OAUTH2_VALIDATOR_CLASS": "tests.oidc_provider.validator.ClaimsValidator",
    # Many organisations' providers do not insist on PKCE from a confidential client; a client
    # that sends a code_challenge still has it checked.
    "PKCE_REQUIRED": False,
}

# DEBUG is off, so say what goes wrong on stderr (the fixture keeps it in server.log).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django.request": {"handlers": ["stderr"], "level": "ERROR"},
        "oauth2_provider": {"handlers": ["stderr"], "level": "WARNING"},
    },
}
