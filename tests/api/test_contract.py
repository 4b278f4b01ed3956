"""Contract tests generated from the OpenAPI schema (schemathesis): every operation, called
with each kind of token and none, with data valid by the schema and data that is not. No
answer is a 500, every status code is one the schema documents, and every body matches the
schema of its status and content type."""

import datetime
import json

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from api.models import Scope
from credentials.services import credential_issue
from tests.factories import StaffFactory, UserFactory, cspo_course, program

from .conftest import integration, personal

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(autouse=True)
def connection_kept_open():
    """Requests go straight to the WSGI application, as a server would send them; Django's
    own test client stops it closing the test's database connection after each, and so
    does this."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _schema():
    """The schema /api/v1/schema/ serves, generated here (loading it needs no database)."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    document = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(document)))
    loaded.app = get_wsgi_application()
    return loaded


schema = _schema()


def authorization(kind: str) -> dict:
    """Records to find, and the caller's header."""
    holder = UserFactory(email="contract@example.com")
    credential_issue(holder=holder, program=program("CSPO"), issued_on=datetime.date(2025, 1, 2))
    cspo_course("C-1", start_date=datetime.date(2024, 12, 30), end_date=datetime.date(2025, 1, 1))
    if kind == "none":
        return {}
    if kind == "personal":
        return {"Authorization": f"Bearer {personal(holder)}"}
    superuser = StaffFactory(is_superuser=True)
    return {"Authorization": f"Bearer {integration(superuser, Scope.values)}"}


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_keeps_its_contract_signed_out(case, db):
    case.call_and_validate(checks=CHECKS)


@schema.parametrize()
@settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_every_operation_keeps_its_contract_with_a_personal_token(case, personal_header):
    case.call_and_validate(headers=personal_header, checks=CHECKS)


@schema.parametrize()
@settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_every_operation_keeps_its_contract_with_an_integration_token(case, integration_header):
    case.call_and_validate(headers=integration_header, checks=CHECKS)


@pytest.fixture
def personal_header(db):
    return authorization("personal")


@pytest.fixture
def integration_header(db):
    return authorization("integration")
