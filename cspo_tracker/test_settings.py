"""Settings for the test suite: the same as production's shape, minus what only slows tests."""

import os

import environ

from .settings import *  # noqa: F403
from .settings import BASE_DIR, DATABASES, VAR_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tests read account emails from the outbox at once (one test checks the worker path).
ACCOUNT_EMAILS_FROM_WORKER = False
# Tests read a roster's check at once (the worker tests and the browser test turn this on).
ROSTER_CHECK_IN_WORKER = False
if os.environ.get("TEST_WORKER_EMAIL_URL"):
    # A Celery worker started by a test sends through the local SMTP sink that test runs.
    vars().update(environ.Env.email_url_config(os.environ["TEST_WORKER_EMAIL_URL"]))
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "pages": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "pages"},
}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
SITE_URL = "http://testserver"
# A key set for tests only (every process of a run, workers and live servers, reads the same).
BADGE_SIGNING_KEYS = ""
BADGE_KEYS_FILE = BASE_DIR / "tests" / "badges" / "test-keys.json"

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so a Celery worker process or a live server can share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
else:
    # Live-server threads must not keep connections open, or the test database cannot be dropped.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
# The API's rate limits have their own tests (which set them low); the rest of the suite,
# schemathesis's hundreds of requests included, is never throttled.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {"token": "100000/min", "address": "100000/min"},
}
# The tests' webhook receivers listen on plain http://127.0.0.1.
WEBHOOKS_ALLOW_HTTP = True
# The tests' identity provider listens on plain http://127.0.0.1.
OIDC_ALLOW_HTTP = True
OIDC_ALLOW_PRIVATE_ADDRESSES = True
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
