"""Requests both load files make (locustfile.py, sign_in_locustfile.py): the bare view, and a
form posted as a browser posts it. No Django here: this runs in the load generator."""

from urllib.parse import urlencode


def bare_view(client) -> None:
    """GET /bare/, failed unless it answers "ok"."""
    with client.get("/bare/", name="bare view", catch_response=True) as r:
        if r.content != b"ok":
            r.failure("not the bare view")


def form_post(client, host: str, path: str, body: dict, name: str) -> None:
    """POST `body` to `path` as a browser would (form-encoded, with its Referer), failed
    unless answered with a redirect somewhere other than the sign-in page."""
    with client.post(
        path,
        data=urlencode(body),
        headers={"Referer": host + path, "Content-Type": "application/x-www-form-urlencoded"},
        name=name,
        allow_redirects=False,
        catch_response=True,
    ) as r:
        location = r.headers.get("location") or r.headers.get("Location") or ""
        if r.status_code != 302 or "login" in location:
            r.failure(f"status {r.status_code} to {location}")
