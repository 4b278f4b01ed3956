"""What the load benchmarks share: the production-like server (gunicorn on loopback with
tests.benchmarks.load_settings, reading the test database, static files collected), locust run
headless against it, and the figures read from locust's CSV."""

import csv
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import PROJECT_ROOT, database_url_for_subprocess

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, timeout=30) -> None:
    """Wait until `url` answers, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - loopback
            return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer")


def redis_cache_url() -> str:
    """A Redis database of the test run's Redis for the server's cache, as production shares
    one between processes; skips the benchmark without Redis."""
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis://"):
        pytest.skip("the load benchmarks need Redis, as production has")
    return broker.rsplit("/", 1)[0] + "/3"


def server_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a production-like server process reading the test database: DEBUG
    off, this process's SECRET_KEY (so sessions signed here are valid there), Redis as the
    cache, static files collected under `tmp_path`. `extra` adds to it (read by the server and
    by locust, which gets the same environment)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.benchmarks.load_settings",
        "DATABASE_URL": database_url_for_subprocess(),
        "DEBUG": "false",
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "STATIC_ROOT": str(tmp_path / "static"),
        "CACHE_URL": redis_cache_url(),
        **extra,
    }


@contextmanager
def gunicorn(env: dict[str, str], *, workers: int = 2) -> Iterator[str]:
    """Collect the static files (production serves hashed ones), start gunicorn with `workers`
    on a free loopback port, and yield its base URL once /bare/ answers; stop it afterwards."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
    )
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "cspo_tracker.wsgi",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=PROJECT_ROOT,
        env=env,
    )
    host = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{host}/bare/")
        yield host
    finally:
        server.terminate()
        server.wait(timeout=30)


def run_locust(
    locustfile: str,
    scenario: str,
    host: str,
    env: dict[str, str],
    tmp_path: Path,
    *,
    users: int,
    seconds: int,
) -> dict[str, dict]:
    """Run `locustfile` (a name in this folder) headless for `seconds` with `users` users,
    the scenario in LOAD_SCENARIO; return locust's CSV rows by request name."""
    prefix = tmp_path / scenario
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(HERE / locustfile),
            "--headless",
            "--only-summary",
            "--users",
            str(users),
            "--spawn-rate",
            str(users),
            "--run-time",
            f"{seconds}s",
            "--host",
            host,
            "--csv",
            str(prefix),
            "--loglevel",
            "ERROR",
        ],
        env={**env, "LOAD_SCENARIO": scenario},
        cwd=PROJECT_ROOT,
        check=False,
        capture_output=True,
        text=True,
    )
    stats = Path(f"{prefix}_stats.csv")
    if not stats.exists():
        raise AssertionError(f"locust wrote no figures for {scenario}:\n{result.stderr[-2000:]}")
    with stats.open() as handle:
        return {row["Name"]: row for row in csv.DictReader(handle)}


def figures(row: dict) -> dict:
    """Requests per second, median and 95th percentile (ms), requests and failures of one
    row of locust's CSV."""
    return {
        "rps": float(row["Requests/s"]),
        "p50": float(row["50%"]),
        "p95": float(row["95%"]),
        "requests": int(row["Request Count"]),
        "errors": int(row["Failure Count"]),
    }


def scenario_figures(rows: dict[str, dict]) -> dict[str, dict]:
    """`figures` of each named request in locust's rows (the aggregate left out)."""
    return {name: figures(row) for name, row in rows.items() if name and name != "Aggregated"}
