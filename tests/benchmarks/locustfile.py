"""Load for the benchmark in test_load.py: signed-in holders (session cookies made by the test)
open the dashboard, or log an activity, or hit the bare view. LOAD_SCENARIO picks one."""

import json
import os
import random
import re

from locust import HttpUser, constant, task

SESSIONS = json.loads(open(os.environ["LOAD_SESSIONS"]).read())  # noqa: SIM115, PTH123
SCENARIO = os.environ["LOAD_SCENARIO"]
CATEGORY = os.environ["LOAD_CATEGORY"]
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Holder(HttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.client.cookies.set("sessionid", random.choice(SESSIONS))  # noqa: S311

    @task
    def work(self):
        if SCENARIO == "bare":
            self.client.get("/bare/", name="bare view")
        elif SCENARIO == "dashboard":
            with self.client.get("/dashboard/", name="dashboard", catch_response=True) as r:
                if "Your certifications" not in r.text:
                    r.failure("not the dashboard")
        else:
            form = self.client.get("/activities/new/", name="entry form GET")
            token = TOKEN.search(form.text)
            with self.client.post(
                "/activities/new/",
                data={
                    "csrfmiddlewaretoken": token.group(1) if token else "",
                    "activity_date": "2026-01-15",
                    "category": CATEGORY,
                    "title": "Load test meetup",
                    "provider": "",
                    "hours": "0.25",
                    "description": "",
                },
                headers={"Referer": self.host + "/activities/new/"},
                name="entry form POST",
                allow_redirects=False,
                catch_response=True,
            ) as r:
                if r.status_code != 302:
                    r.failure(f"status {r.status_code}")
