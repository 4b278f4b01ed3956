"""Load for the benchmark in test_load.py: signed-in holders (session cookies made by the test)
open the dashboard, or log an activity, or hit the bare view. LOAD_SCENARIO picks one."""

import json
import os
import random
import re
from http.cookiejar import Cookie
from urllib.parse import urlencode, urlparse

from locust import FastHttpUser, constant, task

SESSIONS = json.loads(open(os.environ["LOAD_SESSIONS"]).read())  # noqa: SIM115, PTH123
SCENARIO = os.environ["LOAD_SCENARIO"]
CATEGORY = os.environ["LOAD_CATEGORY"]
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def session_cookie(host: str, value: str) -> Cookie:
    domain = urlparse(host).hostname
    return Cookie(
        0,
        "sessionid",
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
        session = random.choice(SESSIONS)  # noqa: S311
        self.client.cookiejar.set_cookie(session_cookie(self.host, session))

    @task
    def work(self):
        if SCENARIO == "bare":
            with self.client.get("/bare/", name="bare view", catch_response=True) as r:
                if r.text != "ok":
                    r.failure("not the bare view")
        elif SCENARIO == "dashboard":
            with self.client.get("/dashboard/", name="dashboard", catch_response=True) as r:
                if "Your certifications" not in r.text:
                    r.failure("not the dashboard")
        else:
            with self.client.get(
                "/activities/new/", name="entry form GET", catch_response=True
            ) as form:
                token = TOKEN.search(form.text)
                if token is None or "Log an activity" not in form.text:
                    form.failure("not the activity form")
            with self.client.post(
                "/activities/new/",
                data=urlencode(
                    {
                        "csrfmiddlewaretoken": token.group(1) if token else "",
                        "activity_date": "2026-01-15",
                        "category": CATEGORY,
                        "title": "Load test meetup",
                        "provider": "",
                        "hours": "0.25",
                        "description": "",
                    }
                ),
                headers={
                    "Referer": self.host + "/activities/new/",
                    "Content-Type": "application/x-www-form-urlencoded",
                },
                name="entry form POST",
                allow_redirects=False,
                catch_response=True,
            ) as r:
                location = r.headers.get("location") or r.headers.get("Location") or ""
                if r.status_code != 302 or "login" in location:
                    r.failure(f"status {r.status_code} to {location}")
