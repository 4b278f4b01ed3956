"""The `oidc_provider` pytest fixture: a real OpenID Connect provider (django-oauth-toolkit) in
its own process, for the tests of signing in through an organisation's identity provider.

Use it by importing it into a conftest.py (pytest then finds it by name):

    from tests.oidc_provider.fixtures import oidc_provider  # noqa: F401

It is session-scoped: one provider, on its own SQLite database in a temporary folder, runs on
a free loopback port for the whole test session and is stopped at the end. Its environment is
built from scratch (none of the suite's DATABASE_URL, DJANGO_SETTINGS_MODULE, ... reach it).
It needs no database of the tracker's, and no `django_db` mark.

The fixture yields an `OidcProvider`:
    issuer          "http://127.0.0.1:<port>/o", as its discovery document and id_tokens say
    metadata_url    issuer + "/.well-known/openid-configuration"
    client_id, client_secret
                    a confidential client (authorization code grant, client_secret_basic or
                    client_secret_post, RS256 id_tokens, no consent screen, PKCE optional)
    add_user(email, password, *, verified=True, given="", family="")
                    create or update a user who signs in with that email as username; its
                    id_token has email, email_verified, given_name, family_name (with the
                    "email" and "profile" scopes), sub is the user's pk as a string
    allow_redirect(uri)
                    register a redirect URI of the client (matched exactly, port included)
    sign_in(authorize_url, email, password, *, session=None) -> str
                    go through the provider's sign-in page as a browser would and return the
                    Location that sends the browser back to the relying party (with code and
                    state, or error), without following it
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
SETTINGS = "tests.oidc_provider.settings"
CLIENT_ID = "cspo-tracker-tests"
START_TIMEOUT = 30.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


@dataclass
class OidcProvider:
    issuer: str
    metadata_url: str
    client_id: str
    client_secret: str
    folder: Path
    env: dict[str, str]

    def setup(self, *args: str) -> None:
        """Run `python -m tests.oidc_provider.setup *args` against this provider's database."""
        done = subprocess.run(
            [sys.executable, "-m", "tests.oidc_provider.setup", *args],
            cwd=REPO_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode:
            raise AssertionError(
                f"the test OIDC provider's setup {args[0]} failed:\n{done.stdout}{done.stderr}"
            )

    def add_user(
        self,
        email: str,
        password: str,
        *,
        verified: bool = True,
        given: str = "",
        family: str = "",
    ) -> None:
        flags = [] if verified else ["--unverified"]
        self.setup("user", email, password, *flags, "--given", given, "--family", family)

    def allow_redirect(self, uri: str) -> None:
        self.setup("redirect", self.client_id, uri)

    def sign_in(
        self,
        authorize_url: str,
        email: str,
        password: str,
        *,
        session: requests.Session | None = None,
    ) -> str:
        """Open `authorize_url` (the provider's, or a relying party's URL that redirects there),
        sign in on the provider's page and return the Location back to the relying party.

        A fresh requests.Session is used unless one is given. Raises AssertionError when the
        sign-in page does not come, the credentials are refused, or the provider ends
        anywhere but on a redirect away from itself."""
        browser = session or requests.Session()
        provider = _origin(self.issuer)

        response = browser.get(authorize_url, allow_redirects=False, timeout=30)
        # Follow redirects to (and within) the provider until its sign-in page.
        while response.is_redirect:
            location = urljoin(response.url, response.headers["Location"])
            if _origin(response.url) == provider and _origin(location) != provider:
                raise AssertionError(
                    f"the provider sent the browser back before any sign-in: {location}"
                )
            response = browser.get(location, allow_redirects=False, timeout=30)
        login_page = response
        if (
            _origin(login_page.url) != provider
            or login_page.status_code != 200
            or 'name="password"' not in login_page.text
        ):
            raise AssertionError(
                f"expected the provider's sign-in page, got {login_page.status_code} at "
                f"{login_page.url}:\n{login_page.text[:2000]}"
            )
        fields = _hidden_fields(login_page.text)
        assert "csrfmiddlewaretoken" in fields, (
            f"no CSRF token on the provider's sign-in page:\n{login_page.text[:2000]}"
        )
        response = browser.post(
            login_page.url,
            data={**fields, "username": email, "password": password},
            headers={"Referer": login_page.url},
            allow_redirects=False,
            timeout=30,
        )
        if response.status_code == 200 and 'name="password"' in response.text:
            raise AssertionError(
                f"the test OIDC provider refused the sign-in of {email!r}: its form came back"
            )
        # Follow redirects within the provider; the first one leaving it is the answer.
        while response.is_redirect:
            location = urljoin(response.url, response.headers["Location"])
            if _origin(location) != provider:
                return location
            response = browser.get(location, allow_redirects=False, timeout=30)
        raise AssertionError(
            f"the provider did not send the browser back after signing in {email!r}: "
            f"{response.status_code} at {response.url}:\n{response.text[:2000]}"
        )


class _HiddenFields(HTMLParser):
    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "input" and attributes.get("type") == "hidden" and attributes.get("name"):
            self.fields[attributes["name"]] = attributes.get("value") or ""


def _hidden_fields(page: str) -> dict[str, str]:
    """The hidden inputs of a page (the sign-in form's CSRF token and `next`), unescaped."""
    parser = _HiddenFields()
    parser.feed(page)
    return parser.fields


def _wait_until_up(process: subprocess.Popen, url: str, log: Path) -> dict:
    deadline = time.monotonic() + START_TIMEOUT
    problem = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            problem = f"the server exited with {process.returncode}"
            break
        try:
            answer = requests.get(url, timeout=2)
        except requests.ConnectionError as error:
            problem = str(error)
        else:
            if answer.status_code == 200:
                return answer.json()
            problem = f"{answer.status_code}: {answer.text[:500]}"
        time.sleep(0.1)
    raise AssertionError(
        f"the test OIDC provider did not answer {url} with 200 ({problem}). Its output:\n"
        + log.read_text(errors="replace")[-5000:]
    )


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory):
    folder = tmp_path_factory.mktemp("oidc-provider")
    port = _free_port()
    issuer = f"http://127.0.0.1:{port}/o"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(folder)),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(REPO_ROOT),
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "OIDC_PROVIDER_DIR": str(folder),
        "OIDC_PROVIDER_ISSUER": issuer,
    }
    provider = OidcProvider(
        issuer=issuer,
        metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_id=CLIENT_ID,
        client_secret=secrets.token_hex(32),  # never starts with "-" (an option to argparse)
        folder=folder,
        env=env,
    )
    provider.setup("init")
    provider.setup("client", provider.client_id, provider.client_secret)

    log = folder / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "django", "runserver", f"127.0.0.1:{port}"),
                *("--noreload", "--skip-checks"),
            ],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        discovery = _wait_until_up(process, provider.metadata_url, log)
        assert discovery["issuer"] == provider.issuer, discovery
        yield provider
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
