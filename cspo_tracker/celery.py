"""The Celery app: configured from CELERY_* settings; tasks found in each app's tasks.py."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cspo_tracker.settings")

app = Celery("cspo_tracker")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="cspo_tracker.ping")
def ping() -> str:
    """Answer "pong": lets a health check or a test prove a worker is consuming."""
    return "pong"
