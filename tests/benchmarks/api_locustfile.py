"""Load for the benchmark in test_api_load.py. LOAD_SCENARIO picks one:

- bare: a Django view that does nothing (the baseline);
- credentials: GET /api/v1/credentials/ (50 a page) with an integration token, each user
  walking the pages by the `next` cursor and starting again at the end;
- credentials_expiring: the same list filtered to the credentials expiring today.
"""

import json
import os

from locust import FastHttpUser, constant, task

from tests.benchmarks.locust_steps import bare_view

SCENARIO = os.environ["LOAD_SCENARIO"]
HEADERS = {"Authorization": f"Bearer {os.environ['LOAD_API_TOKEN']}", "Accept": "application/json"}
FIRST = {
    "credentials": "/api/v1/credentials/?page_size=50",
    "credentials_expiring": "/api/v1/credentials/?page_size=50&status=expiring",
}
NAMES = {
    "credentials": "API credentials list",
    "credentials_expiring": "API credentials list, expiring",
}


class Integration(FastHttpUser):
    wait_time = constant(0)

    @task
    def work(self):
        if SCENARIO == "bare":
            bare_view(self.client)
            return
        url = getattr(self, "next_url", None) or FIRST[SCENARIO]
        with self.client.get(url, headers=HEADERS, name=NAMES[SCENARIO], catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"status {r.status_code}")
                return
            body = json.loads(r.content)
            if len(body["results"]) == 0:
                r.failure("an empty page")
            following = body["next"]
            self.next_url = following[following.index("/api/") :] if following else None
