"""The plain-SQL reads of `seu_ledger.ledger_rows` give what the ORM gives, on PostgreSQL and
on SQLite (whose raw rows carry naive datetimes and untyped decimals)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from seu_ledger.ledger_rows import credentials_with_terms
from tests.conftest import run_on_sqlite

pytestmark = pytest.mark.django_db

# Builds two holders (one renewed, one with a lifetime credential and one with none), then
# compares credentials_with_terms with the ORM field by field. Run here on PostgreSQL and in a
# subprocess on SQLite.
COMPARE = """
import datetime
from django.db.models import Prefetch
from credentials.models import Credential, Program, Term, User
from seu_ledger.ledger_rows import credentials_with_terms


def values(instance):
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def compare():
    holders = []
    for index, (code, terms) in enumerate((("CSPO", 3), ("CSM", 1))):
        holder = User.objects.create_user(
            email=f"rows{index}@example.com", password="a long passphrase 12", first_name="R",
            last_name=f"Rows{index}",
        )
        holder.last_login = datetime.datetime(2024, 2, 29, 23, 30, tzinfo=datetime.UTC)
        holder.save()
        credential = Credential.objects.create(
            holder=holder, program=Program.objects.get(code=code),
            issued_on=datetime.date(2020, 2, 29), verified=True,
        )
        for sequence in range(terms, 0, -1):  # written out of order
            Term.objects.create(
                credential=credential, sequence=sequence,
                starts_on=datetime.date(2020, 2, 29) if sequence == 1
                else datetime.date(2020 + 2 * (sequence - 1), 3, 1),
                ends_on=datetime.date(2022 + 2 * (sequence - 1), 2, 28),
            )
        holders.append(holder.pk)
    Credential.objects.create(
        holder_id=holders[1], program=Program.objects.get(code="CSPO"),
        issued_on=datetime.date(2021, 12, 31),
    )  # no terms at all
    expected = list(
        Credential.objects.filter(holder_id__in=holders).select_related("holder")
        .prefetch_related(Prefetch("terms", queryset=Term.objects.order_by("sequence")))
        .order_by("id")
    )
    got = credentials_with_terms(holders)
    assert [values(c) for c in got] == [values(c) for c in expected]
    assert [values(c.holder) for c in got] == [values(c.holder) for c in expected]
    assert got[0].holder.last_login.tzinfo is not None
    for mine, theirs in zip(got, expected):
        assert [values(t) for t in mine.terms.all()] == [values(t) for t in theirs.terms.all()]
        assert all(t.credential is mine for t in mine.terms.all())
        # Narrowing the loaded terms queries this credential's terms, as prefetch's do.
        assert list(mine.terms.order_by("-sequence")) == list(theirs.terms.order_by("-sequence"))
    return got
"""


def test_the_same_credentials_holders_and_terms_as_the_orm_in_one_query():
    scope = {}
    exec(COMPARE, scope)  # noqa: S102 - the comparison shared with the SQLite run below
    with CaptureQueriesContext(connection) as queries:
        got = scope["compare"]()
        before = len(queries)
        for credential in got:
            list(credential.terms.all())
            assert credential.holder.email
    assert len(queries) == before  # the terms and holders came with the credentials
    assert credentials_with_terms([]) == []
    assert got[0].terms.all()[0].starts_on == datetime.date(2020, 2, 29)


@pytest.mark.django_db(databases=[])
def test_on_sqlite_too(tmp_path):
    script = (
        "import django\ndjango.setup()\nfrom django.core.management import call_command\n"
        'call_command("migrate", verbosity=0)\n' + COMPARE + '\ncompare()\nprint("ok")\n'
    )
    run_on_sqlite(script, tmp_path)
