"""Sessions read with the account they sign in: one query per signed-in request.

`SessionStore` is Django's database session store on `AccountSession`, a session row that
also names its account. Loading a session reads, in the same query, the account's row and the
rules revision (the two parts of a cached page's key, `seu_ledger.page_cache`), and keeps the
account on the store. `AuthenticationMiddleware` is Django's, handing that account to
`AccountStateBackend.get_user` for the length of Django's own `auth.get_user`: which session
names which user, the session hash check and the account-state check stay Django's and ours
as they were, and the account is never carried past the request that read it."""

import contextvars
import logging

from django.contrib import auth
from django.contrib.auth import get_user_model
from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthentication
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.db import SessionStore as DatabaseStore
from django.core.exceptions import SuspiciousOperation
from django.db import connections, router
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from cspo_tracker.rows import ModelReader

# The account read with the session, while Django's auth.get_user() asks the backend for it.
session_account: contextvars.ContextVar = contextvars.ContextVar("session_account", default=None)


_KEY_CHARACTERS = frozenset(VALID_KEY_CHARS)


def _account_id(data: dict) -> int | None:
    """The signed-in account's id in session data (Django keeps it as a string), or None."""
    try:
        return int(data[auth.SESSION_KEY])
    except (KeyError, TypeError, ValueError):
        return None


class SessionStore(DatabaseStore):
    """Django's database session store whose rows name their account, and whose load also
    reads that account (with `rules_revision` set on it) into `account`: None when nobody is
    signed in, the session is gone or expired, or its account was deleted."""

    account = None

    @classmethod
    def get_model_class(cls):
        from .models import AccountSession

        return AccountSession

    def _validate_session_key(self, key) -> bool:
        """Django's check (at least 8 characters), and only the characters Django draws keys
        from: a cookie carrying anything else (a NUL, which PostgreSQL refuses in a string)
        names no session and is never sent to the database."""
        return bool(super()._validate_session_key(key)) and set(key) <= _KEY_CHARACTERS

    def create_model_instance(self, data):
        session = super().create_model_instance(data)
        session.account_id = _account_id(data)
        return session

    async def acreate_model_instance(self, data):
        session = await super().acreate_model_instance(data)
        session.account_id = _account_id(data)
        return session

    def load(self) -> dict:
        """The session's data (empty when there is no such live session, which also forgets
        the key, as Django's store does); sets `account`. One query."""
        from .models import Organisation, OrganisationMember, RulesRevision

        self.account = None
        try:
            key = self.session_key
        except SuspiciousOperation as error:  # pragma: no cover - Django's own handling
            logging.getLogger(f"django.security.{error.__class__.__name__}").warning(str(error))
            key = None
        if not key:
            self._session_key = None
            return {}
        user_model = get_user_model()
        alias = router.db_for_read(self.model)
        account = ModelReader.of(user_model, "u", alias)
        connection = connections[alias]
        with connection.cursor() as cursor:
            cursor.execute(
                # Plain SQL: this runs on every signed-in request. Table and column names come
                # from the models.
                f"SELECT s.session_data, "  # noqa: S608
                f"(SELECT r.revision FROM {RulesRevision._meta.db_table} r WHERE r.id = 1), "
                f"(SELECT COUNT(*) FROM {OrganisationMember._meta.db_table} m "
                "WHERE m.user_id = s.account_id), "
                # The organisation requiring its provider's sign-in (the first of several).
                f"(SELECT MIN(m.organisation_id) FROM {OrganisationMember._meta.db_table} m "
                f"JOIN {Organisation._meta.db_table} o ON o.id = m.organisation_id "
                "WHERE m.user_id = s.account_id AND o.oidc_required), "
                f"{account.sql} FROM {self.model._meta.db_table} s "
                f'LEFT JOIN {user_model._meta.db_table} u ON u."{user_model._meta.pk.column}" '
                "= s.account_id WHERE s.session_key = %s AND s.expire_date > %s",
                [key, connection.ops.adapt_datetimefield_value(timezone.now())],
            )
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return {}
        data = self.decode(row[0])
        if row[4 + account.pk] is not None and row[4 + account.pk] == _account_id(data):
            through = data.get("signed_in_through")
            if (
                row[3] is not None
                and through != row[3]
                and not _through_required_provider(row[4 + account.pk], through)
            ):
                # Its organisation requires its provider's sign-in, and this session did not
                # come from there (a password, or before the rule, or another provider):
                # as good as signed out, on every request whatever path made it.
                self._session_key = None
                return {}
            self.account = account.instance(row, 4)
            self.account.rules_revision = row[1]
            self.account.organisation_count = row[2]
        return data


def _through_required_provider(account_id: int, through) -> bool:
    """Whether `through` (the organisation whose identity provider signed the session in, as
    credentials.oidc records it) is one that requires its provider of the account."""
    from .models import OrganisationMember

    return (
        through is not None
        and OrganisationMember.objects.filter(
            user_id=account_id, organisation_id=through, organisation__oidc_required=True
        ).exists()
    )


def signed_in_user(request):
    """Django's `auth.get_user(request)`, with the account the session store read alongside
    the session offered to the backend so that it needs no query of its own."""
    session = request.session
    session.get(auth.SESSION_KEY)  # loads the session, and with it its account
    token = session_account.set(getattr(session, "account", None))
    try:
        return auth.get_user(request)
    finally:
        session_account.reset(token)


def _cached_user(request):
    if not hasattr(request, "_cached_user"):
        request._cached_user = signed_in_user(request)
    return request._cached_user


class AuthenticationMiddleware(DjangoAuthentication):
    """Django's authentication middleware whose `request.user` comes from `signed_in_user`."""

    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: _cached_user(request))
