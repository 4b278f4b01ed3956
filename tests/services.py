"""Throwaway PostgreSQL and Redis for the test run, as a pytest plugin.

Loaded with `-p tests.services` (see pyproject.toml) so that it runs before pytest-django reads the
settings: the URLs it sets are what Django, Celery and any worker subprocess see.

- DATABASE_URL / CELERY_BROKER_URL already set (CI): used as they are.
- Otherwise, where the PostgreSQL or Redis binaries are installed, a private instance is started
  on a free loopback port and removed at the end.
- Otherwise the suite runs on SQLite and the embedded broker, and tests that need Redis skip.

With CSPO_REQUIRE_SERVICES=1 (set by .ci/run), a missing service is an error, and so is any test
skipped for one.
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

SERVICE_MISSING = "service missing:"


def require_services() -> bool:
    return os.environ.get("CSPO_REQUIRE_SERVICES", "") not in ("", "0", "false")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_binary(name: str) -> str | None:
    """Look on PATH, then in Debian's versioned PostgreSQL folders."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing answered on 127.0.0.1:{port} within {timeout:.0f}s")


class PostgresServer:
    """A private cluster in a temporary folder. initdb refuses root, so run as `postgres` there."""

    def __init__(self, *, crash_safe: bool = False):
        # A crash (`pause`) loses the last commits unless each waits for its WAL write; the
        # fault suite's server needs that, the suite's own is faster without.
        self.crash_safe = crash_safe
        self.initdb = find_binary("initdb")
        self.pg_ctl = find_binary("pg_ctl")
        self.folder: Path | None = None
        self.port = free_port()

    @property
    def available(self) -> bool:
        return bool(self.initdb and self.pg_ctl)

    def _as_owner(self, command: list[str]) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *command]
        return command

    def start(self) -> str:
        self.folder = Path(tempfile.mkdtemp(prefix="cspo-test-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.folder, user="postgres")
        data = self.folder / "data"
        run = {"check": True, "stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE}
        subprocess.run(
            self._as_owner(
                [
                    self.initdb,
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--no-locale",
                    "--no-sync",
                ]
            ),
            **run,
        )
        self.resume()
        return f"postgres://postgres@127.0.0.1:{self.port}/cspo_tracker"

    def stop(self) -> None:
        if self.folder is None:
            return
        self.pause()
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None

    def pause(self) -> None:
        """Stop the server at once (as a crash would), keeping its data to start it again."""
        subprocess.run(
            self._as_owner(
                [self.pg_ctl, "-D", str(self.folder / "data"), "-m", "immediate", "stop"]
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )

    def resume(self) -> None:
        """Start the server again on the same port and data."""
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off -c max_connections=200"
            f" -c synchronous_commit={'on' if self.crash_safe else 'off'}"
        )
        subprocess.run(
            self._as_owner(
                [
                    self.pg_ctl,
                    "-D",
                    str(self.folder / "data"),
                    "-l",
                    str(self.folder / "server.log"),
                    "-o",
                    options,
                    "-w",
                    "start",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )


class RedisServer:
    """A private redis-server with no persistence."""

    def __init__(self):
        self.binary = find_binary("redis-server")
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.folder: Path | None = None

    @property
    def available(self) -> bool:
        return bool(self.binary)

    def start(self) -> str:
        self.folder = Path(tempfile.mkdtemp(prefix="cspo-test-redis-"))
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)
        return f"redis://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


class TestServices:
    """What this run uses, and what it started (and so must stop)."""

    def __init__(self):
        self.started: list[PostgresServer | RedisServer] = []
        self.var_dir = Path(tempfile.mkdtemp(prefix="cspo-test-var-"))
        self.notes: list[str] = []

    def setup(self) -> None:
        # Local state (SQLite files, broker queue, uploads) stays out of the checkout.
        os.environ["VAR_DIR"] = str(self.var_dir)
        os.environ["MEDIA_ROOT"] = str(self.var_dir / "media")
        os.environ["DEBUG"] = (
            "true"  # the suite runs on laptop defaults; production mode is tested in subprocesses
        )
        self._database()
        self._redis()

    def _database(self) -> None:
        if os.environ.get("DATABASE_URL"):
            self.notes.append("database: DATABASE_URL from the environment")
            return
        server = PostgresServer()
        if not server.available:
            self.notes.append("database: SQLite (no PostgreSQL binaries found)")
            return
        os.environ["DATABASE_URL"] = server.start()
        self.started.append(server)
        self.notes.append(f"database: throwaway PostgreSQL on port {server.port}")

    def _redis(self) -> None:
        if os.environ.get("CELERY_BROKER_URL"):
            self.notes.append("broker: CELERY_BROKER_URL from the environment")
            return
        server = RedisServer()
        if not server.available:
            self.notes.append("broker: embedded filesystem broker (redis-server not found)")
            return
        base = server.start()
        os.environ["CELERY_BROKER_URL"] = f"{base}/0"
        os.environ.setdefault("CELERY_RESULT_BACKEND", f"{base}/1")
        self.started.append(server)
        self.notes.append(f"broker: throwaway Redis on port {server.port}")

    def check_required(self) -> None:
        if not require_services():
            return
        missing = []
        if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
            missing.append("PostgreSQL")
        if not os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"):
            missing.append("Redis")
        if missing:
            raise pytest.UsageError(
                f"CSPO_REQUIRE_SERVICES is set but {' and '.join(missing)} is not available."
            )

    def stop(self) -> None:
        while self.started:
            self.started.pop().stop()
        shutil.rmtree(self.var_dir, ignore_errors=True)


_services: TestServices | None = None


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(early_config, parser, args):
    global _services
    if _services is None:
        _services = TestServices()
        atexit.register(_services.stop)
        early_config.add_cleanup(_services.stop)
        try:
            _services.setup()
        except (OSError, subprocess.CalledProcessError, RuntimeError) as exc:
            _services.stop()
            detail = getattr(exc, "stderr", b"") or b""
            raise pytest.UsageError(
                f"could not start a test service: {exc} {detail.decode(errors='replace')}"
            ) from exc
        _services.check_required()
    return (yield)


def pytest_report_header(config):
    return [f"cspo services: {note}" for note in (_services.notes if _services else [])]


_skipped_for_services: list[str] = []


def pytest_runtest_logreport(report):
    if report.skipped and SERVICE_MISSING in str(report.longrepr):
        _skipped_for_services.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if require_services() and _skipped_for_services:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if require_services() and _skipped_for_services:
        terminalreporter.write_line(
            f"FAILED: {len(_skipped_for_services)} test(s) skipped for a missing service "
            "while CSPO_REQUIRE_SERVICES is set:",
            red=True,
        )
        for nodeid in _skipped_for_services:
            terminalreporter.write_line(f"  {nodeid}")


def skip_unless_redis() -> None:
    """Skip the calling test, naming the reason, when the broker is not Redis."""
    if not os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"):
        pytest.skip(f"{SERVICE_MISSING} redis-server is not installed")
