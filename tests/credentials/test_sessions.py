"""Sessions read with their account (credentials.sessions): one query signs a request in, and
everything Django's own session handling refuses is still refused."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from credentials.accounts import user_deactivate
from credentials.models import AccountSession, RulesRevision
from credentials.sessions import SessionStore, session_account, signed_in_user
from tests.conftest import run_on_sqlite
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PAGE = "account_profile"


@pytest.fixture
def holder(client):
    holder = UserFactory(email="sam@example.com")
    client.force_login(holder)
    return holder


def test_a_session_names_its_account(client, holder):
    session = AccountSession.objects.get(session_key=client.session.session_key)
    assert session.account_id == holder.pk


def test_one_query_reads_the_session_the_account_and_the_rules_revision(client, holder):
    store = SessionStore(client.session.session_key)
    with CaptureQueriesContext(connection) as queries:
        assert int(store[SESSION_KEY]) == holder.pk
    assert len(queries) == 1
    assert store.account.pk == holder.pk
    assert store.account.email == "sam@example.com"
    assert store.account.rules_revision == RulesRevision.objects.get(pk=1).revision


def test_signing_in_a_request_asks_nothing_more_of_the_database(client, holder):
    request = RequestFactory().get("/")
    request.session = SessionStore(client.session.session_key)
    with CaptureQueriesContext(connection) as queries:
        user = signed_in_user(request)
    assert user.pk == holder.pk
    assert len(queries) == 1
    assert session_account.get() is None  # not carried past the sign-in


def test_a_session_without_its_account_column_still_signs_in(client, holder):
    """Sessions saved before the column (or by another store) fall back to reading the user."""
    AccountSession.objects.update(account=None)
    response = client.get(reverse(PAGE))
    assert response.status_code == 200
    assert response.context["user"].pk == holder.pk


def test_a_session_whose_column_disagrees_with_its_data_trusts_the_data(client, holder):
    other = UserFactory(email="other@example.com")
    AccountSession.objects.update(account=other)
    assert client.get(reverse(PAGE)).context["user"].pk == holder.pk


def test_a_deactivated_account_is_signed_out(client, holder):
    user_deactivate(user=holder)
    assert client.get(reverse(PAGE)).status_code == 302


def test_a_changed_password_ends_other_sessions(client, holder):
    holder.set_password("a brand new passphrase 42")
    holder.save()
    assert client.get(reverse(PAGE)).status_code == 302


def test_an_expired_or_unknown_session_signs_nobody_in(client, holder):
    AccountSession.objects.update(expire_date=timezone.now())
    assert client.get(reverse(PAGE)).status_code == 302
    store = SessionStore("no-such-session-key-000000")
    assert store.load() == {}
    assert store.account is None
    assert store.session_key is None


def test_deleting_an_account_ends_its_sessions(client, holder):
    holder.delete()
    assert not AccountSession.objects.exists()


def test_signing_out_deletes_the_session(client, holder):
    key = client.session.session_key
    client.post(reverse("logout"))
    assert not AccountSession.objects.filter(session_key=key).exists()


def test_a_session_naming_a_deleted_account_saves_and_signs_nobody_in():
    """Saved while its account is being deleted (no foreign-key check to fail on, where
    Django's store would retry a failed insert for ever)."""
    gone = UserFactory(email="gone@example.com")
    store = SessionStore()
    store[SESSION_KEY] = str(gone.pk)
    gone.delete()
    store.create()
    assert AccountSession.objects.get(session_key=store.session_key).account_id is not None
    again = SessionStore(store.session_key)
    assert again.get(SESSION_KEY) == str(store[SESSION_KEY])
    assert again.account is None


SQLITE_SESSION = """
import datetime
import django
django.setup()
from django.core.management import call_command
from django.contrib.auth import SESSION_KEY
from credentials.models import User
from credentials.sessions import SessionStore

call_command("migrate", verbosity=0)
user = User.objects.create_user(
    email="lite@example.com", password="a long passphrase 12", first_name="L", last_name="Ite"
)
user.last_login = datetime.datetime(2024, 2, 29, 23, 30, tzinfo=datetime.UTC)
user.save()
store = SessionStore()
store[SESSION_KEY] = str(user.pk)
store.create()
loaded = SessionStore(store.session_key)
assert loaded.get(SESSION_KEY) == str(user.pk)
assert loaded.account.last_login == user.last_login, loaded.account.last_login
assert loaded.account.is_active is True
print("ok")
"""


@pytest.mark.django_db(databases=[])
def test_on_sqlite_the_account_comes_with_aware_datetimes(tmp_path):
    run_on_sqlite(SQLITE_SESSION, tmp_path)


@pytest.mark.parametrize("key", ["abcdefgh\x00ijk", "ABCDEFGHIJKLMNOP", "abcdefgh' OR '1'='1"])
def test_a_key_outside_django_s_alphabet_names_no_session(client, holder, key):
    """Never sent to the database (PostgreSQL refuses a NUL in a string: a 500 on every page
    for a planted cookie)."""
    store = SessionStore(key)
    with CaptureQueriesContext(connection) as queries:
        assert store.load() == {}
    assert store.session_key is None
    assert len(queries) == 0
    client.cookies["sessionid"] = key
    assert client.get(reverse(PAGE)).status_code == 302


def test_a_reactivated_account_is_not_signed_in_by_an_old_browser(client, holder):
    from credentials.accounts import user_reactivate

    user_deactivate(user=holder)
    assert not AccountSession.objects.filter(account=holder).exists()
    user_reactivate(user=holder)
    assert client.get(reverse(PAGE)).status_code == 302
