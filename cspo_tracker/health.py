"""Health of the services a request or a task depends on, as plain functions."""

from dataclasses import dataclass

from django.db import DatabaseError, connections

from .celery import app as celery_app


@dataclass(frozen=True)
class ServiceState:
    ok: bool
    detail: str

    def as_dict(self) -> dict:
        return {"ok": self.ok, "detail": self.detail}


def database_state(connection=None) -> ServiceState:
    """Run `SELECT 1` on the default database (or the given connection)."""
    connection = connection or connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return ServiceState(ok=False, detail=f"{type(exc).__name__}: {exc}".strip())
    return ServiceState(ok=True, detail=connection.vendor)


def broker_state(broker_url: str | None = None, timeout: float = 3.0) -> ServiceState:
    """Open a connection to the Celery broker (or the given URL) and close it again."""
    connection = celery_app.connection_for_write(url=broker_url, connect_timeout=timeout)
    try:
        with connection:
            connection.ensure_connection(max_retries=1, timeout=timeout)
            transport = connection.transport_cls
    except Exception as exc:  # kombu raises driver-specific errors; every one means "down"
        return ServiceState(ok=False, detail=f"{type(exc).__name__}: {exc}".strip())
    return ServiceState(ok=True, detail=str(transport))
