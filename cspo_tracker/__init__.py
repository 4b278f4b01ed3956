"""CSPO Tracker project package: settings, URLs, the Celery app and the WSGI entry point."""

# Import the Celery app whenever Django starts so @shared_task binds to it.
from .celery import app as celery_app

__all__ = ("celery_app",)
