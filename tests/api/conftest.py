"""API callers of every kind: none, holders' personal tokens, integration tokens by scope,
and signed-in sessions."""

import json
from dataclasses import dataclass

import pytest
from django.test import Client

from api.models import ApiToken, Scope
from api.tokens import token_create
from tests.factories import UserFactory, staff_in


@dataclass
class Caller:
    """A test client that sends one kind of credentials with every request."""

    client: Client
    token: str = ""
    name: str = ""

    def _headers(self, headers):
        extra = dict(headers or {})
        if self.token:
            extra["Authorization"] = f"Bearer {self.token}"
        return extra

    def get(self, url, data=None, headers=None):
        return self.client.get(url, data, headers=self._headers(headers))

    def post(self, url, data=None, headers=None, **kwargs):
        if "content_type" not in kwargs and not any(
            hasattr(v, "read") for v in (data or {}).values()
        ):
            return self.client.post(
                url,
                json.dumps(data or {}),
                content_type="application/json",
                headers=self._headers(headers),
            )
        return self.client.post(url, data, headers=self._headers(headers), **kwargs)

    def patch(self, url, data=None, headers=None):
        return self.client.patch(
            url,
            json.dumps(data or {}),
            content_type="application/json",
            headers=self._headers(headers),
        )

    def delete(self, url, headers=None):
        return self.client.delete(url, headers=self._headers(headers))


def personal(user, name="mine") -> str:
    return token_create(user=user, kind=ApiToken.Kind.PERSONAL, name=name).secret


def integration(user, scopes, name="sync") -> str:
    return token_create(
        user=user, kind=ApiToken.Kind.INTEGRATION, name=name, scopes=list(scopes)
    ).secret


@pytest.fixture
def holder_a(db):
    return UserFactory(email="a@example.com", first_name="Ada", last_name="Alder")


@pytest.fixture
def holder_b(db):
    return UserFactory(email="b@example.com", first_name="Ben", last_name="Birch")


@pytest.fixture
def superuser(db):
    return staff_in("superuser")


@pytest.fixture
def api_a(holder_a):
    """Holder A's personal token."""
    return Caller(Client(), personal(holder_a), "personal A")


@pytest.fixture
def api_b(holder_b):
    return Caller(Client(), personal(holder_b), "personal B")


@pytest.fixture
def api_staff(superuser):
    """An integration token with every scope, acting for a superuser."""
    return Caller(Client(), integration(superuser, Scope.values), "integration, all scopes")


@pytest.fixture
def anonymous():
    return Caller(Client(), "", "none")
