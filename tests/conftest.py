"""Fixtures shared by the whole suite."""

import email
import email.policy
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings

from tests.factories import DEFAULT_PASSWORD, StaffFactory, UserFactory
from tests.oidc_provider.fixtures import oidc_provider  # noqa: F401 - the local OIDC provider
from tests.services import SERVICE_MISSING

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config):
    """The translations compiled before any test reads them (`make test` does it too; this
    covers a bare `pytest`)."""
    from credentials.management.commands.compilemessages import compile_catalogs

    compile_catalogs(settings.LOCALE_PATHS)


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


def run_on_sqlite(script: str, tmp_path) -> None:
    """Run `script` (Python that calls django.setup() itself and prints "ok" last) in a new
    process on a fresh SQLite database in `tmp_path`, the embedded default; fails the test with
    the script's error output unless it printed "ok"."""
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "cspo_tracker.settings",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "VAR_DIR": str(tmp_path),
            "DEBUG": "true",
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")


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


# The reference data the migrations seed (issuers, programs, rule versions, categories and
# the staff roles), as it stands once the test database is migrated.
REFERENCE_MODELS = (
    "credentials.Issuer",
    "credentials.Program",
    "seu_ledger.Category",
    "seu_ledger.CategoryMapping",
    "seu_ledger.RuleVersion",
    "seu_ledger.CategoryLimit",
)


_reference: list[tuple[str, dict]] = []


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, plus a snapshot of its reference data taken right after
    migrating (a transactional test empties the tables when it ends)."""
    with django_db_blocker.unblock():
        _reference.append(_reference_rows())


def _reference_rows() -> tuple[str, dict]:
    from django.apps import apps
    from django.contrib.auth.models import Group
    from django.core import serializers

    rows = [
        row
        for label in REFERENCE_MODELS
        for row in apps.get_model(label)._default_manager.order_by("pk")
    ]
    # Roles by permission codename: a flush recreates permissions under new ids.
    roles = {
        group.name: [
            (p.content_type.app_label, p.codename)
            for p in group.permissions.select_related("content_type")
            if p.content_type.model_class() is not None
        ]
        for group in Group.objects.all()
    }
    return serializers.serialize("json", rows), roles


@pytest.fixture
def reference_data(transactional_db):
    """Issuers, programs, rules, categories and roles for tests that commit.

    Data migrations seed them, but a transactional test empties every table when it ends, so
    such tests load the seeded rows again from a snapshot taken after migrating.
    """
    from django.contrib.auth.models import Group, Permission
    from django.core import serializers
    from django.db.models import Q

    rows, roles = _reference[0]
    for row in serializers.deserialize("json", rows):
        row.save()
    for name, permissions in roles.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = Q(pk__in=[])
        for app_label, codename in permissions:
            wanted |= Q(content_type__app_label=app_label, codename=codename)
        group.permissions.set(Permission.objects.filter(wanted))


# --- The independent Open Badges verifier -------------------------------------------------------
# Node.js and panva's jose, installed from the npm registry by `npm ci` from the lock file in
# tests/badges/js (`.ci/run` does it; so does the first test that needs it).
BADGE_VERIFIER_JS = Path(__file__).parent / "badges" / "js"


@pytest.fixture(scope="session")
def node_verifier():
    """A function (jwks dict, credential vc+jwt, status list vc+jwts, now=None) -> (exit code,
    the verifier's JSON result), running verify.mjs in Node.js."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip(f"{SERVICE_MISSING} Node.js and npm are not installed")
    if not (BADGE_VERIFIER_JS / "node_modules" / "jose").exists():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--silent"],
            cwd=BADGE_VERIFIER_JS,
            check=True,
            timeout=300,
        )

    def verify(jwks: dict, token: str, lists: list[str] = (), now: str | None = None, tmp=None):
        folder = Path(tmp)
        (folder / "jwks.json").write_text(json.dumps(jwks))
        (folder / "credential.jwt").write_text(token)
        names = []
        for number, listed in enumerate(lists):
            name = folder / f"list-{number}.jwt"
            name.write_text(listed)
            names.append(str(name))
        command = [node, str(BADGE_VERIFIER_JS / "verify.mjs"), str(folder / "jwks.json")]
        command += [str(folder / "credential.jwt"), *names]
        if now:
            command += ["--now", now]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert done.stdout.strip(), done.stderr
        return done.returncode, json.loads(done.stdout)

    return verify
