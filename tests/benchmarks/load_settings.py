"""Production settings served over plain HTTP on loopback, plus a bare view to compare with."""

from cspo_tracker.settings import *  # noqa: F403

ROOT_URLCONF = "tests.benchmarks.load_urls"
# Loopback speaks plain HTTP: no redirect to HTTPS, and cookies that travel over it.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
