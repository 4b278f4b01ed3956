"""Benchmark: signing in under load, against a bare view, and what one password check costs.

Run with `make bench`. Creates holders whose passwords are stored as production stores them
(the first of the project's PASSWORD_HASHERS, Django's parameters; one hash made once and given
to every holder, which costs each check the same as distinct salts would), starts gunicorn with
2 workers on loopback with the production settings, and runs locust headless for a bounded time
per scenario: the bare view (a Django view doing nothing behind the same middleware), then
browsers signing in (the sign-in page, then its form posted with the page's CSRF token), each
as the next holder. Prints sign-ins per second, median and 95th-percentile latency and errors,
and sign-ins per second as a share of the bare view's requests per second; and, measured in
this process, one password check with Argon2id and with PBKDF2 at Django's parameters. Figures
are printed and recorded for the summary, never asserted.
"""

import os
import statistics
import time

import pytest
from django.contrib.auth.hashers import (
    Argon2PasswordHasher,
    PBKDF2PasswordHasher,
    make_password,
)
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from credentials.models import User
from cspo_tracker import settings as project_settings
from tests.benchmarks.harness import gunicorn, run_locust, scenario_figures, server_env
from tests.benchmarks.summary import record

ACCOUNTS = 1_000
USERS = 8  # concurrent locust users: more than 2 workers serve at once, so neither idles
SECONDS = int(os.environ.get("SIGN_IN_SECONDS", "15"))
PASSWORD = "correct horse battery staple"  # noqa: S105 - the benchmark holders' password
EMAIL_PATTERN = "sign-in-{}@example.com"
CHECKS = 7  # password checks timed per hasher, in this process
SECTION = "sign-in"


def holders_fill() -> str:
    """ACCOUNTS active holders with PASSWORD as production stores it; returns the stored hash."""
    with override_settings(PASSWORD_HASHERS=project_settings.PASSWORD_HASHERS):
        encoded = make_password(PASSWORD)
    now = timezone.now()
    User.objects.bulk_create(
        User(
            email=EMAIL_PATTERN.format(n),
            password=encoded,
            first_name="Sign",
            last_name=f"In{n}",
            state=User.State.ACTIVE,
            state_changed_at=now,
            licence_accepted_at=now,
        )
        for n in range(ACCOUNTS)
    )
    return encoded


def check_seconds(hasher) -> float:
    """The median time of one right-password check with `hasher` at its default parameters."""
    encoded = hasher.encode(PASSWORD, hasher.salt())
    times = []
    for _ in range(CHECKS):
        began = time.perf_counter()
        assert hasher.verify(PASSWORD, encoded)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


@pytest.mark.django_db(transaction=True)
def test_sign_in_under_load(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the load benchmarks need PostgreSQL")
    env = server_env(
        tmp_path,
        SIGN_IN_ACCOUNTS=str(ACCOUNTS),
        SIGN_IN_EMAIL_PATTERN=EMAIL_PATTERN,
        SIGN_IN_PASSWORD=PASSWORD,
    )
    argon2, pbkdf2 = check_seconds(Argon2PasswordHasher()), check_seconds(PBKDF2PasswordHasher())
    algorithm = holders_fill().split("$", 1)[0]
    results = {}
    with gunicorn(env, workers=2) as host:
        for scenario in ("bare", "sign_in"):
            rows = run_locust(
                "sign_in_locustfile.py", scenario, host, env, tmp_path, users=USERS, seconds=SECONDS
            )
            results.update(scenario_figures(rows))

    print(
        f"\nsign-in: {ACCOUNTS:,} holders stored with {algorithm}; gunicorn 2 workers, locust "
        f"{USERS} users, {SECONDS} s a scenario"
    )
    for name, f in results.items():
        print(
            f"  {name:14s} {f['rps']:8.1f} req/s  p50 {f['p50']:6.0f} ms  p95 {f['p95']:6.0f} ms"
            f"  {f['requests']:6d} requests, {f['errors']} errors"
        )
    bare, sign_in = results["bare view"], results["sign-in"]
    share = sign_in["rps"] / bare["rps"]
    print(
        f"  sign-ins per second: {sign_in['rps']:.1f} ({share:.1%} of the bare view's "
        f"{bare['rps']:.0f} requests per second; each also opened the sign-in page)"
    )
    print(
        f"  one password check in this process: Argon2id {argon2 * 1000:.0f} ms, PBKDF2 "
        f"{pbkdf2 * 1000:.0f} ms (Django's parameters; median of {CHECKS})"
    )
    users = f"{USERS} users, {SECONDS} s"
    record(SECTION, "sign-ins per second", f"{sign_in['rps']:.1f}", users)
    record(SECTION, "sign-in p50 / p95 ms", f"{sign_in['p50']:.0f} / {sign_in['p95']:.0f}", users)
    record(SECTION, "sign-in errors", str(sign_in["errors"]))
    record(SECTION, "bare view requests per second", f"{bare['rps']:.0f}", users)
    record(SECTION, "sign-ins / bare view", f"{share:.1%}")
    defaults = "in this process, Django's parameters"
    record(SECTION, "one Argon2id check ms", f"{argon2 * 1000:.0f}", defaults)
    record(SECTION, "one PBKDF2 check ms", f"{pbkdf2 * 1000:.0f}", defaults)
