"""/healthz reports the database and the broker, and fails closed; /status/ says the same
in words for people."""

import copy

import pytest
from django.db import connections
from django.db.utils import load_backend

from cspo_tracker.health import broker_state, database_state
from tests.services import free_port


def unreachable_connection():
    """A real connection object of the configured engine, aimed where nothing listens."""
    settings_dict = copy.deepcopy(connections["default"].settings_dict)
    if settings_dict["ENGINE"] == "django.db.backends.sqlite3":
        settings_dict["NAME"] = "/nonexistent-folder/for-sure/db.sqlite3"
    else:
        settings_dict.update(HOST="127.0.0.1", PORT=str(free_port()))
        settings_dict["OPTIONS"] = {**settings_dict.get("OPTIONS", {}), "connect_timeout": 2}
    backend = load_backend(settings_dict["ENGINE"])
    return backend.DatabaseWrapper(settings_dict, alias="unreachable")


@pytest.mark.django_db
def test_database_state_answers_on_the_test_database():
    state = database_state()
    assert state.ok
    assert state.detail == connections["default"].vendor


@pytest.mark.django_db
def test_database_state_reports_a_database_that_does_not_answer():
    connection = unreachable_connection()
    try:
        state = database_state(connection)
    finally:
        connection.close()
    assert not state.ok
    assert "OperationalError" in state.detail


def test_broker_state_answers_on_the_configured_broker():
    assert broker_state().ok


def test_broker_state_reports_a_broker_that_does_not_answer():
    state = broker_state(f"redis://127.0.0.1:{free_port()}/0", timeout=1)
    assert not state.ok
    assert state.detail


@pytest.mark.django_db
def test_healthz_is_200_with_json_when_everything_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is True
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_is_down(client, monkeypatch):
    # Celery reads CELERY_BROKER_URL from the environment before its configuration.
    monkeypatch.setenv("CELERY_BROKER_URL", f"redis://127.0.0.1:{free_port()}/0")
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["broker"]["ok"] is False
    assert body["database"]["ok"] is True


@pytest.mark.django_db
def test_healthz_answers_head_like_get_without_a_body(client):
    """Load balancers and uptime checkers often probe with HEAD."""
    response = client.head("/healthz")
    assert response.status_code == 200
    assert response.content == b""
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_healthz_answers_head_with_503_when_the_broker_is_down(client, monkeypatch):
    monkeypatch.setenv("CELERY_BROKER_URL", f"redis://127.0.0.1:{free_port()}/0")
    response = client.head("/healthz")
    assert response.status_code == 503
    assert response.content == b""


def test_healthz_refuses_post(client):
    assert client.post("/healthz").status_code == 405


# --- The status page: the same check in words ------------------------------------------------


@pytest.mark.django_db
def test_status_page_says_in_words_that_everything_works(client):
    response = client.get("/status/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "Everything is working." in html
    # A visitor on this machine (as staff anywhere) reads what each service answered.
    assert "Database (your records):" in html
    assert "Task queue (emails, reminders, roster imports):" in html
    assert "not answering" not in html
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_status_page_names_the_service_down_with_503(client, monkeypatch):
    monkeypatch.setenv("CELERY_BROKER_URL", f"redis://127.0.0.1:{free_port()}/0")
    response = client.get("/status/")
    assert response.status_code == 503
    html = response.content.decode()
    assert "Something is not working" in html
    assert "not answering" in html


@pytest.mark.django_db
def test_status_page_tells_outsiders_only_whether_it_works(client, monkeypatch):
    from cspo_tracker import views
    from cspo_tracker.health import ServiceState

    secret = "OperationalError: could not connect to server at 10.0.0.7:6379 as cspo"
    monkeypatch.setattr(views, "broker_state", lambda: ServiceState(ok=False, detail=secret))
    response = client.get("/status/", REMOTE_ADDR="203.0.113.5")
    assert response.status_code == 503
    html = response.content.decode()
    assert "Something is not working" in html
    assert "10.0.0.7" not in html
    assert "Task queue" not in html


@pytest.mark.django_db
def test_footer_links_people_to_the_status_page_and_monitors_keep_the_json(client):
    html = client.get("/").content.decode()
    assert '<a class="link-secondary" href="/status/">Service status</a>' in html
    assert client.get("/healthz").json()["status"] == "ok"
