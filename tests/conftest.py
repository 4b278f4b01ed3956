"""Fixtures shared by the whole suite."""

import email
import email.policy
import importlib
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings

from tests.factories import DEFAULT_PASSWORD, StaffFactory, UserFactory

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with an empty cache (the staff dashboard keeps figures in it)."""
    from django.core.cache import caches

    for alias in ("default", "pages"):
        caches[alias].clear()


@pytest.fixture
def password():
    return DEFAULT_PASSWORD


@pytest.fixture
def holder(db):
    return UserFactory(first_name="Pat", last_name="Owner", email="pat@example.com")


@pytest.fixture
def staff_user(db):
    return StaffFactory(email="staff@example.com")


def database_url_for_subprocess() -> str:
    """The URL of the database the tests are using now (the test database, not the dev one)."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def celery_worker_start(**extra_env: str) -> subprocess.Popen:
    """Start a real `celery worker` process on the configured broker, reading the test
    database; `extra_env` adds to its environment."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cspo_tracker.test_settings",
        "DATABASE_URL": database_url_for_subprocess(),
        **extra_env,
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "cspo_tracker",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=WARNING",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    time.sleep(0.2)
    if process.poll() is not None:
        output = process.stdout.read().decode(errors="replace")
        pytest.fail(f"celery worker exited at start:\n{output}")
    return process


def celery_worker_stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def celery_worker_process(transactional_db):
    """A real Celery worker. Tests using it see committed data only, hence transactional_db."""
    process = celery_worker_start()
    yield process
    celery_worker_stop(process)


class SmtpSink:
    """A local SMTP server that keeps what it receives; it can refuse the next few messages
    with a temporary error, as a busy mail server does."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.refuse_next = 0
        self.refused = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        with self._lock:
            if self.refuse_next:
                self.refuse_next -= 1
                self.refused += 1
                return "451 4.3.0 Mailbox busy, try again later"
            self.messages.append(
                email.message_from_bytes(envelope.content, policy=email.policy.default)
            )
        return "250 OK"

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


@pytest.fixture
def smtp_sink():
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        sink.port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    yield sink
    controller.stop()


@pytest.fixture
def reference_data(transactional_db):
    """Issuers, programs and categories for tests that commit.

    Data migrations seed them, but a transactional test empties every table when it ends, so
    such tests re-run the (idempotent) seeding.
    """
    from django.apps import apps

    for module in (
        "credentials.migrations.0003_seed_issuers_and_programs",
        "seu_ledger.migrations.0002_seed_categories",
        "seu_ledger.migrations.0006_staff_roles",
    ):
        importlib.import_module(module).seed(apps, None)
