"""A real Celery worker consumes tasks on the embedded broker and on Redis."""

import os
import subprocess
import sys
import time

from cspo_tracker.celery import ping
from tests.conftest import PROJECT_ROOT
from tests.services import skip_unless_redis


def test_worker_on_redis_runs_a_task(celery_worker_process):
    skip_unless_redis()
    assert ping.delay().get(timeout=30) == "pong"


def test_worker_on_the_embedded_broker_runs_a_task(tmp_path):
    """The laptop default: filesystem broker, no Redis anywhere, results in a folder."""
    env = {
        **os.environ,
        "VAR_DIR": str(tmp_path),
        "CELERY_BROKER_URL": "filesystem://",
        "CELERY_RESULT_BACKEND": f"file://{tmp_path}/results",
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
    }
    (tmp_path / "results").mkdir()
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "cspo_tracker",
            "worker",
            "--pool=solo",
            "--loglevel=WARNING",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        code = "from cspo_tracker.celery import ping; print(ping.delay().get(timeout=30))"
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=PROJECT_ROOT,
            env={**env, "DJANGO_SETTINGS_MODULE": "cspo_tracker.settings"},
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        worker.terminate()
        output = worker.communicate(timeout=20)[0].decode(errors="replace")
    assert result.returncode == 0, result.stderr + output
    assert result.stdout.strip() == "pong"


def test_beat_starts_on_the_embedded_broker(tmp_path):
    """`celery beat` (the third process of `make run`) starts and writes its schedule file."""
    env = {
        **os.environ,
        "VAR_DIR": str(tmp_path),
        "CELERY_BROKER_URL": "filesystem://",
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        "DJANGO_SETTINGS_MODULE": "cspo_tracker.settings",
    }
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "cspo_tracker", "beat", "--loglevel=INFO"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    try:
        while not list(tmp_path.glob("celerybeat-schedule*")) and time.monotonic() < deadline:
            assert beat.poll() is None, "celery beat exited at start"
            time.sleep(0.1)
        assert beat.poll() is None, "celery beat exited at start"
    finally:
        beat.terminate()
        output = beat.communicate(timeout=20)[0].decode(errors="replace")
    assert "beat: Starting" in output, output
    assert list(tmp_path.glob("celerybeat-schedule*")), output


def test_beat_runs_the_reminder_job_hourly_and_every_sweep_every_5_minutes(settings):
    from celery.schedules import crontab

    from cspo_tracker.celery import app

    app.loader.import_default_modules()
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert all(entry["task"] in app.tasks for entry in schedule.values())
    # Hourly, at REMINDER_RUN_AT's minutes: each holder's local 06:00 comes in a different hour.
    assert schedule["reminders-hourly"]["schedule"] == crontab(minute=0)
    assert settings.REMINDER_RUN_TIME.isoformat() == "06:00:00"
    sweeps = {"reminders-sweep", "roster-imports-sweep", "invitations-sweep"}
    assert {name: schedule[name]["schedule"] for name in sweeps} == dict.fromkeys(sweeps, 5 * 60)
