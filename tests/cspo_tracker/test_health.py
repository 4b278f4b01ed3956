"""/healthz reports the database and the broker, and fails closed."""

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
