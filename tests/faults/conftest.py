"""The fault suite's stage: a private PostgreSQL it can stop and start, the run's Redis, two real
Celery workers, and a local SMTP server that can refuse, hold and stop.

Each scenario runs twice on fresh copies of a migrated template database: once clean, in this
process with Celery eager, and once through the workers with the fault injected. This process's
Django connection points at whichever copy is in use, so the test sets data up and reads it
back with the ORM while the workers do the work in their own processes.
"""

import asyncio
import datetime
import email
import email.policy
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

from tests.conftest import PROJECT_ROOT, celery_worker_start, celery_worker_stop
from tests.services import PostgresServer, skip_unless_redis

# The timings the workers run with here, a hundred times shorter than production's: a claim
# expires after 4 s without progress; writing how work ended keeps trying for 3 s; a job whose
# database is away retries 8 times over about 4 s; a refused email is retried after 1 s.
CLAIM_EXPIRES_SECONDS = 4
DURABLE_SECONDS = 3
WORKER_ENV = {
    "CLAIM_EXPIRES_SECONDS": str(CLAIM_EXPIRES_SECONDS),
    "CLAIM_DURABLE_SECONDS": str(DURABLE_SECONDS),
    "TASK_RETRY_BASE_SECONDS": "0.03",
    "REMINDER_RETRY_SECONDS": "1",
    "ROSTER_BATCH_ROWS": "100",
}
# Longer than every retry window above: an outage of this length outlasts them all.
LONG_OUTAGE_SECONDS = 9


def database_errors() -> tuple[type[Exception], ...]:
    from django.db import InterfaceError, OperationalError

    return (OperationalError, InterfaceError)


def wait_until(condition, *, timeout=60.0, what="condition", every=0.2, explain=None):
    """Poll `condition` until it holds; a database that does not answer counts as not yet.
    On time-out, the message adds what `explain()` returns."""
    from django.db import connection

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except database_errors():
            connection.close()
        time.sleep(every)
    detail = f"; {explain()}" if explain else ""
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{detail}")


class FaultSmtp:
    """A local SMTP server that keeps what it accepts, and on command refuses, holds a
    message at RCPT (a sender killed then has sent nothing), runs a hook right after it
    accepted one (to kill the sender or stop the database at that moment), or stops."""

    def __init__(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.messages: list[email.message.EmailMessage] = []
        self.accepted_while: list[str] = []  # a label per message, set by `label`
        self.label = ""
        self.refuse_next = 0
        self.hold_rcpt = 0.0
        self.held_peers: list[int] = []
        self.on_accept = None
        self._controller = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self.hold_rcpt:
            self.held_peers.append(session.peer[1])
            await asyncio.sleep(self.hold_rcpt)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook
        with self._lock:
            if self.refuse_next:
                self.refuse_next -= 1
                return "451 4.3.0 Try again later"
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            self.messages.append(message)
            self.accepted_while.append(self.label)
            hook, self.on_accept = self.on_accept, None
        if hook:
            # Runs before the sender reads "250": it has been accepted, the sender not told.
            await asyncio.get_running_loop().run_in_executor(None, hook, session.peer[1])
        return "250 OK"

    def start(self):
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def per_recipient(self) -> Counter:
        """How many copies each address received."""
        return Counter(str(message["To"]) for message in self.messages)

    def copies(self) -> Counter:
        """How many copies of each (address, Message-ID) arrived."""
        return Counter((str(m["To"]), str(m["Message-ID"])) for m in self.messages)

    def ids_per_recipient(self) -> Counter:
        """How many different Message-IDs each address received: what it sees once receiving
        systems drop copies."""
        ids = {(str(m["To"]), str(m["Message-ID"])) for m in self.messages}
        return Counter(to for to, _ in ids)

    def subjects(self) -> dict[str, list[str]]:
        """Each address's subjects, one per Message-ID, in order received."""
        seen, out = set(), {}
        for message in self.messages:
            key = (str(message["To"]), str(message["Message-ID"]))
            if key not in seen:
                seen.add(key)
                out.setdefault(key[0], []).append(str(message["Subject"]))
        return out


@dataclass
class Stage:
    """One scenario's database copies, workers and mail server."""

    pg: PostgresServer
    smtp: FaultSmtp
    database: str = ""
    workers: list[subprocess.Popen] = field(default_factory=list)
    created: list[str] = field(default_factory=list)

    # --- databases -----------------------------------------------------------------------

    def new_database(self) -> str:
        name = f"fault_{uuid.uuid4().hex[:10]}"
        admin_sql(self.pg, f"CREATE DATABASE {name} TEMPLATE cspo_faults_template")
        self.created.append(name)
        return name

    def use(self, name: str) -> None:
        """Point this process's Django connection at database `name`."""
        from django.db import connection

        connection.close()
        connection.settings_dict.update(
            NAME=name, HOST="127.0.0.1", PORT=self.pg.port, USER="postgres", PASSWORD=""
        )
        self.database = name

    def sql(self, statement: str) -> list[tuple]:
        """Run SQL on the scenario's database as the superuser, on a connection of its own."""
        import psycopg2

        connection = psycopg2.connect(
            host="127.0.0.1", port=self.pg.port, user="postgres", dbname=self.database
        )
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement)
                return cursor.fetchall() if cursor.description else []
        finally:
            connection.close()

    @contextmanager
    def clean_run(self):
        """A fresh database with no fault and no worker: tasks run in this process (Celery
        eager) and emails land in Django's outbox. Back on the fault database afterwards."""
        from django.core import mail

        from cspo_tracker.celery import app

        faulty = self.database
        self.use(self.new_database())
        mail.outbox = []
        app.conf.task_always_eager = True
        app.conf.task_eager_propagates = True
        try:
            yield
        finally:
            app.conf.task_always_eager = False
            app.conf.task_eager_propagates = False
            self.use(faulty)

    def stop_database(self):
        """Stop PostgreSQL at once, as a crash would."""
        self.pg.pause()

    def start_database(self):
        from django.db import connection

        self.pg.resume()
        connection.close()  # this process's connection died with the server

    def outage(self, seconds: float):
        """The database away for `seconds`, then back."""
        self.stop_database()
        try:
            time.sleep(seconds)
        finally:
            self.start_database()

    # --- workers -------------------------------------------------------------------------

    def start_workers(self, count=2, **env):
        """Start `count` Celery workers on the scenario's database and mail server."""
        for _ in range(count):
            self.workers.append(
                celery_worker_start(TEST_WORKER_EMAIL_URL=self.smtp.url, **WORKER_ENV, **env)
            )

    def kill(self, process):
        """SIGKILL a worker: it dies mid-whatever, acknowledging nothing."""
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def kill_all(self):
        for process in self.workers:
            self.kill(process)

    def worker_on_port(self, port: int):
        """The worker whose socket has local port `port` (its SMTP connection)."""
        import psutil

        for process in self.workers:
            try:
                connections = psutil.Process(process.pid).net_connections(kind="tcp")
            except psutil.NoSuchProcess:
                continue
            if any(c.laddr and c.laddr.port == port for c in connections):
                return process
        raise AssertionError(f"no worker holds local port {port}")

    def stop_all(self):
        for process in self.workers:
            if process.poll() is None:
                celery_worker_stop(process)
        self.workers.clear()


def admin_sql(pg, statement: str) -> None:
    import psycopg2

    connection = psycopg2.connect(
        host="127.0.0.1", port=pg.port, user="postgres", dbname="postgres"
    )
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(statement)
    connection.close()


@pytest.fixture(scope="session")
def fault_postgres():
    """A private PostgreSQL cluster (stopping it harms no other test), with a migrated
    template database the scenarios copy."""
    pg = PostgresServer(crash_safe=True)
    if not pg.available:
        pytest.skip("service missing: PostgreSQL binaries are not installed")
    pg.start()
    admin_sql(pg, "CREATE DATABASE cspo_faults_template")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cspo_tracker.test_settings",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{pg.port}/cspo_faults_template",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
    )
    yield pg
    pg.stop()


@pytest.fixture
def stage(fault_postgres, django_db_blocker, settings):
    """A fresh copy of the template database, this process pointed at it with the workers'
    timings, an SMTP server, and room for workers; everything stopped and put back after."""
    skip_unless_redis()
    from django.db import connections

    from cspo_tracker.celery import app

    connection = connections["default"]
    saved = dict(connection.settings_dict)
    smtp = FaultSmtp()
    smtp.start()
    scene = Stage(pg=fault_postgres, smtp=smtp)
    settings.CLAIM_EXPIRES = datetime.timedelta(seconds=CLAIM_EXPIRES_SECONDS)
    settings.CLAIM_DURABLE_SECONDS = DURABLE_SECONDS
    settings.ROSTER_BATCH_ROWS = 100
    with django_db_blocker.unblock():
        scene.use(scene.new_database())
        app.control.purge()
        try:
            yield scene
        finally:
            scene.stop_all()
            smtp.stop()
            if not _answers(fault_postgres):
                fault_postgres.resume()
            connection.close()
            connection.settings_dict.clear()
            connection.settings_dict.update(saved)
            app.control.purge()
            for name in scene.created:
                admin_sql(fault_postgres, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _answers(pg) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", pg.port), timeout=0.5):
            return True
    except OSError:
        return False
