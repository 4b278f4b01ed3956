"""Benchmark: the holder dashboard and the activity form under load, against a bare view.

Run with `make bench`. Fills PostgreSQL with 10,000 holders (a CSPO each, half also a CSM,
about 12 ledger entries each), starts gunicorn with 2 workers on loopback with the production
settings, and runs locust headless for a bounded time per scenario, as signed-in holders:
a bare Django view behind the same middleware (the baseline), the dashboard, and the activity
form (GET, POST, then the dashboard drawn anew). The dashboard is measured twice: holders coming
back to it (served from the page cache) and first views (every request a holder whose page was
never drawn). Prints requests per second, median and 95th-percentile latency and errors for
each, and the dashboard's throughput as a share of the bare view's. Figures are printed, never
asserted.
"""

import csv
import datetime
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.utils import timezone
from django.utils.crypto import get_random_string

from credentials.dates import add_months
from credentials.models import Credential, Program, Term, User
from cspo_tracker.bulk import insert_rows
from seu_ledger.models import Category, Entry
from tests.conftest import PROJECT_ROOT, database_url_for_subprocess

HOLDERS = 10_000
SESSIONS = 3_000
USERS = 16  # concurrent locust users
SECONDS = int(os.environ.get("LOAD_SECONDS", "20"))
HERE = os.path.dirname(__file__)


def fill() -> int:
    now = timezone.now()
    on = timezone.localdate()
    insert_rows(
        User,
        ["id", "email", "password", "first_name", "last_name", "is_staff", "is_active"]
        + ["is_superuser", "date_joined", "licence_accepted_at"],
        (
            (pk, f"load{pk}@example.com", "!", "Load", f"Holder{pk}", False, True, False, now, now)
            for pk in range(1, HOLDERS + 1)
        ),
    )
    cspo, csm = Program.objects.get(code="CSPO"), Program.objects.get(code="CSM")
    credentials, terms = [], []
    for holder in range(1, HOLDERS + 1):
        issued = on - datetime.timedelta(days=(holder * 7) % 700)
        programs = [cspo] if holder % 2 else [cspo, csm]
        for program in programs:
            pk = len(credentials) + 1
            credentials.append((pk, holder, program.pk, issued, now, uuid.UUID(int=pk), "", True))
            terms.append((pk, 1, issued, add_months(issued, 24)))
    insert_rows(
        Credential,
        ["id", "holder_id", "program_id", "issued_on", "created_at", "verification_code"]
        + ["certificate_number", "verified"],
        credentials,
    )
    insert_rows(Term, ["credential_id", "sequence", "starts_on", "ends_on"], terms)
    learning = Category.objects.get(issuer__code="scrum-alliance", code="learning").pk
    insert_rows(
        Entry,
        ["holder_id", "activity_date", "category_id", "title", "provider", "hours"]
        + ["description", "evidence", "void_reason", "created_at", "updated_at"],
        (
            (holder, on - datetime.timedelta(days=3 + 29 * n), learning, f"Meetup {n}", "")
            + (Decimal("1.5"), "", "", "", now, now)
            for holder in range(1, HOLDERS + 1)
            for n in range(12)
        ),
    )
    with connection.cursor() as cursor:
        for table in ("credentials_user", "credentials_credential"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT MAX(id) FROM {table}))"
            )
        cursor.execute("ANALYZE")
    return learning


def signed_in_sessions() -> list[list[str]]:
    """Session keys of signed-in holders, each with the CSRF cookie its browser would have."""
    keys = []
    for user in User.objects.filter(pk__lte=SESSIONS):
        session = SessionStore()
        session["_auth_user_id"] = str(user.pk)
        session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
        session["_auth_user_hash"] = user.get_session_auth_hash()
        session.create()
        keys.append([session.session_key, get_random_string(32)])
    return keys


def redis_cache_url() -> str:
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis://"):
        pytest.skip("the load benchmark needs Redis, as production has")
    return broker.rsplit("/", 1)[0] + "/3"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, timeout=30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - loopback
            return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer")


def run_locust(scenario: str, host: str, env: dict, tmp_path) -> dict:
    prefix = tmp_path / scenario
    subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            os.path.join(HERE, "locustfile.py"),
            "--headless",
            "--only-summary",
            "--users",
            str(USERS),
            "--spawn-rate",
            str(USERS),
            "--run-time",
            f"{SECONDS}s",
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
    )
    with open(f"{prefix}_stats.csv") as handle:  # noqa: PTH123
        return {row["Name"]: row for row in csv.DictReader(handle)}


def figures(row: dict) -> dict:
    return {
        "rps": float(row["Requests/s"]),
        "p50": float(row["50%"]),
        "p95": float(row["95%"]),
        "requests": int(row["Request Count"]),
        "errors": int(row["Failure Count"]),
    }


@pytest.mark.django_db(transaction=True)
def test_dashboard_and_activity_form_under_load(reference_data, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the load benchmark needs PostgreSQL")
    began = time.perf_counter()
    learning = fill()
    sessions = signed_in_sessions()
    (tmp_path / "sessions.json").write_text(json.dumps(sessions))
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.benchmarks.load_settings",
        "DATABASE_URL": database_url_for_subprocess(),
        "DEBUG": "false",
        # The sessions were signed here, so the server shares this process's key.
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "LOAD_SESSIONS": str(tmp_path / "sessions.json"),
        "LOAD_CATEGORY": str(learning),
        "STATIC_ROOT": str(tmp_path / "static"),
        # Production shares a Redis cache between processes (sessions, cached pages).
        "CACHE_URL": redis_cache_url(),
    }
    # Production serves hashed static files collected beforehand.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "cspo_tracker.wsgi",
            "--workers",
            "2",
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
        print(
            f"\nload: {User.objects.count():,} holders, {Credential.objects.count():,} "
            f"credentials, {Entry.objects.count():,} entries; {SESSIONS} signed-in sessions; "
            f"filled in {time.perf_counter() - began:.0f} s. gunicorn 2 workers, locust "
            f"{USERS} users, {SECONDS} s a scenario"
        )
        results = {}
        for scenario in ("bare", "dashboard", "dashboard_cold", "entry"):
            rows = run_locust(scenario, host, env, tmp_path)
            for name, row in rows.items():
                if name and name != "Aggregated":
                    results[name] = figures(row)
    finally:
        server.terminate()
        server.wait(timeout=30)
    for name, f in results.items():
        print(
            f"  {name:18s} {f['rps']:8.1f} req/s  p50 {f['p50']:6.0f} ms  p95 {f['p95']:6.0f} ms"
            f"  {f['requests']:6d} requests, {f['errors']} errors"
        )
    bare = results["bare view"]["rps"]
    print(
        f"  dashboard throughput: {results['dashboard']['rps'] / bare:.0%} of the bare view's "
        f"(holders coming back); first views, drawn anew: "
        f"{results['dashboard, first view']['rps'] / bare:.0%}"
    )
