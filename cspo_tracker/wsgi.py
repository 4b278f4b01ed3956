"""WSGI entry point for gunicorn: `gunicorn cspo_tracker.wsgi`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cspo_tracker.settings")

application = get_wsgi_application()
