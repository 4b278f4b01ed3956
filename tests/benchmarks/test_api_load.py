"""Benchmark: the REST API's credentials list under load, against a bare view.

Run with `make bench`. Fills PostgreSQL as test_load.py does (10,000 holders, 15,000
credentials with their terms), starts gunicorn with 2 workers on loopback with the production
settings (the rate limits raised: this measures the endpoint, not the limiter, whose Redis
round trips stay in), and runs locust headless with an integration token: the bare view, the
credentials list walked page by page (50 a page, each with its terms and today's status), and
the list filtered to expiring credentials. Prints requests per second, median and 95th
percentile latency, and each list's throughput as a share of the bare view's. Figures are
printed, never asserted.
"""

import os
import time

import pytest
from django.db import connection

from api.models import ApiToken, Scope
from api.tokens import token_create
from credentials.models import Credential, User

from .harness import gunicorn, run_locust, scenario_figures, server_env
from .summary import record
from .test_load import HOLDERS, fill

USERS = 16
SECONDS = int(os.environ.get("LOAD_SECONDS", "20"))
SCENARIOS = ["bare", "credentials", "credentials_expiring"]


@pytest.mark.django_db(transaction=True)
def test_credentials_list_under_load(reference_data, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the load benchmark needs PostgreSQL")
    began = time.perf_counter()
    fill()
    staff = User.objects.create(email="integration@example.com", is_staff=True, is_superuser=True)
    token = token_create(
        user=staff, kind=ApiToken.Kind.INTEGRATION, name="load", scopes=[Scope.CREDENTIALS_READ]
    ).secret
    env = server_env(
        tmp_path,
        LOAD_API_TOKEN=token,
        API_RATE_PER_TOKEN="1000000/min",
        API_RATE_PER_ADDRESS="1000000/min",
    )
    results = {}
    with gunicorn(env, workers=2) as host:
        print(
            f"\napi load: {Credential.objects.count():,} credentials; filled in "
            f"{time.perf_counter() - began:.0f} s. gunicorn 2 workers, locust {USERS} users, "
            f"{SECONDS} s a scenario"
        )
        for scenario in SCENARIOS:
            rows = run_locust(
                "api_locustfile.py", scenario, host, env, tmp_path, users=USERS, seconds=SECONDS
            )
            results.update(scenario_figures(rows))
    for name, f in results.items():
        print(
            f"  {name:32s} {f['rps']:8.1f} req/s  p50 {f['p50']:6.0f} ms  p95 {f['p95']:6.0f} ms"
            f"  {f['requests']:6d} requests, {f['errors']} errors"
        )
    if "bare view" not in results:
        return
    bare = results["bare view"]["rps"]
    section = (
        f"API under load: gunicorn 2 workers, locust {USERS} users, {HOLDERS:,} holders "
        f"(share of the bare view's req/s)"
    )
    for name, f in results.items():
        share = f["rps"] / bare
        note = f"{share:.0%}" + (f", {f['errors']} errors" if f["errors"] else "")
        record(section, name, f"{f['rps']:.0f} req/s, p50 {f['p50']:.0f} ms", note)
        print(f"  {name}: {note} of the bare view")
