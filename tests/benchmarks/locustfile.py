"""Load for the benchmark in test_load.py: signed-in holders (sessions made by the test, each
with its own CSRF cookie, as a browser has after its first page). LOAD_SCENARIO picks one:

- bare: a Django view that does nothing (the baseline);
- dashboard: each simulated holder opens their dashboard again and again;
- dashboard_cold: every request is a holder whose dashboard nobody drew yet;
- form_get: open the activity form again and again;
- form_post: log an activity (the form's token read once per holder), answered with the
  redirect to the dashboard, which is not followed: the POST alone is measured;
- after_write: one of the holder's activities is changed straight in the database (as another
  device, staff or a roster import would), then the dashboard is opened: drawn anew every time.
"""

import itertools
import json
import os
import random
import re
from http.cookiejar import Cookie
from urllib.parse import urlparse

import psycopg2
from locust import FastHttpUser, constant, task

from tests.benchmarks.locust_steps import bare_view, form_post

with open(os.environ["LOAD_SESSIONS"]) as handle:  # noqa: PTH123
    SESSIONS = json.load(handle)  # [[session key, csrf cookie, holder id], ...]
SCENARIO = os.environ["LOAD_SCENARIO"]
CATEGORY = os.environ["LOAD_CATEGORY"]
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
UNSEEN = itertools.cycle(SESSIONS)  # the cold scenario walks through every holder once
ENTRY_FIELDS = {
    "activity_date": "2026-01-15",
    "category": CATEGORY,
    "title": "Load test meetup",
    "provider": "",
    "hours": "0.25",
    "description": "",
}


def cookie(host: str, name: str, value: str) -> Cookie:
    domain = urlparse(host).hostname
    return Cookie(
        0,
        name,
        value,
        None,
        False,
        domain,
        False,
        False,
        "/",
        True,
        False,
        None,
        False,
        None,
        None,
        {},
    )


class Holder(FastHttpUser):
    # geventhttpclient: light on the load generator's own CPU, which shares the machine.
    wait_time = constant(0)

    def on_start(self):
        self.sign_in(random.choice(SESSIONS))  # noqa: S311

    def sign_in(self, session):
        self.holder_id = session[2]
        self.client.cookiejar.clear()
        self.client.cookiejar.set_cookie(cookie(self.host, "sessionid", session[0]))
        self.client.cookiejar.set_cookie(cookie(self.host, "csrftoken", session[1]))

    def dashboard(self, name):
        with self.client.get("/dashboard/", name=name, catch_response=True) as r:
            # Bytes, not text: decoding every page would load the client sharing the CPU.
            if b"Your certifications" not in r.content:
                r.failure("not the dashboard")

    @task
    def work(self):
        if SCENARIO == "bare":
            bare_view(self.client)
        elif SCENARIO == "dashboard":
            self.dashboard("dashboard")
        elif SCENARIO == "dashboard_cold":
            self.sign_in(next(UNSEEN))
            self.dashboard("dashboard, first view")
        elif SCENARIO == "form_get":
            self.form()
        elif SCENARIO == "form_post":
            self.log_an_activity()
        else:
            self.write_then_look()

    def form(self, name: str = "entry form GET") -> str | None:
        """Open the activity form; its CSRF token, or None."""
        with self.client.get("/activities/new/", name=name, catch_response=True) as r:
            token = TOKEN.search(r.text)
            if token is None:
                r.failure("not the activity form")
                return None
            return token.group(1)

    def log_an_activity(self):
        if getattr(self, "token", None) is None:
            self.token = self.form("entry form, first open")  # once, as a browser keeps it
            if self.token is None:
                return
        form_post(
            self.client,
            self.host,
            "/activities/new/",
            {"csrfmiddlewaretoken": self.token, **ENTRY_FIELDS},
            "entry form POST",
        )

    def write_then_look(self):
        """One of this holder's activities changed outside the web process (as another device,
        staff or a roster import would; the database moves the page version), then the
        dashboard, which has to be drawn anew. An UPDATE, so the holder's ledger keeps its size
        however long the scenario runs."""
        if getattr(self, "database", None) is None:
            self.database = psycopg2.connect(os.environ["DATABASE_URL"])
            self.database.autocommit = True
        with self.database.cursor() as cursor:
            cursor.execute(
                "UPDATE seu_ledger_entry SET updated_at = now() WHERE id = "
                "(SELECT MIN(id) FROM seu_ledger_entry WHERE holder_id = %s)",
                [self.holder_id],
            )
        self.dashboard("dashboard after a write")
