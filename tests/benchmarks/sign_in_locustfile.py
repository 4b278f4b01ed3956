"""Load for the benchmark in test_sign_in.py. LOAD_SCENARIO picks one:

- bare: a Django view that does nothing (the baseline);
- sign_in: a browser with no cookies opens the sign-in page and posts an address and password
  (with the page's CSRF token), as each holder in turn (SIGN_IN_EMAIL_PATTERN with 0 to
  SIGN_IN_ACCOUNTS - 1, all with SIGN_IN_PASSWORD).
"""

import itertools
import os
import re

from locust import FastHttpUser, constant, task

from tests.benchmarks.locust_steps import bare_view, form_post

SCENARIO = os.environ["LOAD_SCENARIO"]
TOKEN = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
PASSWORD = os.environ.get("SIGN_IN_PASSWORD", "")
ACCOUNTS = itertools.cycle(
    os.environ.get("SIGN_IN_EMAIL_PATTERN", "{}").format(n)
    for n in range(int(os.environ.get("SIGN_IN_ACCOUNTS", "1")))
)
SIGN_IN = "/accounts/login/"


class Visitor(FastHttpUser):
    # geventhttpclient: light on the load generator's own CPU, which shares the machine.
    wait_time = constant(0)

    @task
    def work(self):
        if SCENARIO == "bare":
            bare_view(self.client)
        else:
            self.sign_in(next(ACCOUNTS))

    def sign_in(self, email):
        self.client.cookiejar.clear()
        with self.client.get(SIGN_IN, name="sign-in page", catch_response=True) as r:
            # Bytes, not text: decoding every page would load the client sharing the CPU.
            token = TOKEN.search(r.content)
            if token is None:
                r.failure("not the sign-in page")
                return
        body = {
            "csrfmiddlewaretoken": token.group(1).decode(),
            "username": email,
            "password": PASSWORD,
        }
        form_post(self.client, self.host, SIGN_IN, body, "sign-in")
