"""Cached dashboards follow the data they were drawn from, whoever writes it.

The versions keying a cached page are moved by database triggers (`seu_ledger.page_versions`):
these tests prove that the tables the dashboard reads are exactly the tables that carry them,
and that a write through no code of ours (raw SQL) still refreshes the page.
"""

import datetime
import re
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from credentials.models import Credential, RulesRevision, Term, User
from credentials.services import credential_issue, licence_accept
from seu_ledger import page_versions
from seu_ledger.models import Allocation, Fee, RuleVersion
from seu_ledger.page_versions import triggered_tables
from seu_ledger.selectors import renewal_rules_forget
from tests.conftest import run_on_sqlite
from tests.factories import UserFactory, learning_entry, program

pytestmark = pytest.mark.django_db

# The key itself: the session and the signed-in user's row, read with the rules revision.
KEY_TABLES = {"credentials_accountsession", "credentials_user", "credentials_rulesrevision"}
TABLE = re.compile(r'(?:FROM|JOIN)\s+"?(\w+)"?', re.IGNORECASE)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(datetime.datetime(2026, 3, 1, 12, tzinfo=datetime.UTC), tick=True):
        yield


def dashboard(client) -> str:
    page = client.get(reverse("ledger:dashboard")).content.decode()
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)


def counted(client) -> list[tuple[str, str]]:
    return re.findall(r'units-counted">([^<]+)</span> of (\S+)', dashboard(client))


def version(holder) -> int:
    return User.objects.values_list("ledger_version", flat=True).get(pk=holder.pk)


def revision() -> int:
    return RulesRevision.objects.values_list("revision", flat=True).get(pk=1)


@pytest.fixture
def pat(client):
    holder = UserFactory(email="pat@example.com")
    licence_accept(user=holder)
    credential = credential_issue(
        holder=holder, program=program("CSPO"), issued_on=datetime.date(2024, 3, 15)
    )
    client.force_login(holder)
    dashboard(client)  # the first visit sets the CSRF cookie the cached page is keyed by
    return holder, credential


def test_every_table_the_dashboard_reads_moves_a_version(client, settings):
    """Draw the dashboard of every demo holder (every status, both issuers' rules, fees,
    renewals, carry-over, memberships, claims) and list the tables its queries name: each is
    a key table or carries a page-version trigger. A new query on a new table fails here
    until a migration adds its trigger."""
    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    read = set()
    holders = User.objects.filter(is_staff=False, credentials__isnull=False).distinct()
    assert holders.count() >= 6
    for holder in holders:
        client.force_login(holder)
        renewal_rules_forget()  # the rules are read too, not taken from this process's copy
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("ledger:dashboard"))  # no CSRF cookie: drawn anew
        assert response.status_code == 200
        assert b"Your certifications" in response.content
        read |= {table for query in queries for table in TABLE.findall(query["sql"])}
    assert {"seu_ledger_entry", "credentials_term", "seu_ledger_ruleversion"} <= read
    missing = read - KEY_TABLES - triggered_tables(connection)
    assert not missing, f"the dashboard reads {sorted(missing)}, which move no page version"


@pytest.mark.parametrize(
    "table",
    [
        "credentials_credential",
        "credentials_term",
        "seu_ledger_entry",
        "seu_ledger_allocation",
        "seu_ledger_fee",
    ],
)
def test_a_raw_sql_write_moves_only_its_holders_version(pat, table):
    holder, credential = pat
    other = UserFactory(email="other@example.com")
    entry = learning_entry(holder, datetime.date(2026, 2, 1), "4")
    Allocation.objects.create(entry=entry, category=entry.category, hours=4)
    Fee.objects.create(
        holder=holder,
        issuer=credential.program.issuer,
        credential=credential,
        period_ends_on=datetime.date(2026, 3, 15),
    )
    before, others_before = version(holder), version(other)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET id = id")  # noqa: S608 - a fixed table name
    assert version(holder) != before
    assert version(other) == others_before


def test_a_cached_dashboard_follows_a_raw_sql_fix(client, pat):
    """No signal, no service, no list of writers: the database moves the version."""
    holder, _ = pat
    learning_entry(holder, datetime.date(2026, 2, 1), "4")
    assert counted(client) == [("4", "20")]
    assert counted(client) == [("4", "20")]  # from the cache
    with connection.cursor() as cursor:
        cursor.execute("UPDATE seu_ledger_entry SET hours = 8 WHERE holder_id = %s", [holder.pk])
    assert counted(client) == [("8", "20")]
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM seu_ledger_allocation WHERE entry_id IN "
            "(SELECT id FROM seu_ledger_entry WHERE holder_id = %s)",
            [holder.pk],
        )
        cursor.execute("DELETE FROM seu_ledger_entry WHERE holder_id = %s", [holder.pk])
    assert counted(client) == [("0", "20")]


def test_a_bulk_update_of_the_rules_reaches_every_cached_dashboard(client, pat):
    assert counted(client) == [("0", "20")]
    before = revision()
    RuleVersion.objects.filter(program__code="CSPO").update(units_required=25)
    assert revision() != before
    assert counted(client) == [("0", "25")]


def test_a_term_moved_to_another_holder_refreshes_both(client, pat):
    holder, credential = pat
    other = UserFactory(email="other@example.com")
    theirs = Credential.objects.create(
        holder=other, program=program("CSM"), issued_on=credential.issued_on
    )
    before, others_before = version(holder), version(other)
    Term.objects.filter(credential=credential).update(credential=theirs)
    assert version(holder) != before
    assert version(other) != others_before


def test_a_rolled_back_version_is_never_given_again(pat):
    """A page drawn inside a transaction that rolls back was stored under a version no later
    write will reach (PostgreSQL's sequence; SQLite draws at random)."""
    holder, credential = pat
    seen = set()

    def change_then_roll_back():
        with transaction.atomic():
            Credential.objects.filter(pk=credential.pk).update(certificate_number="X")
            seen.add(version(holder))
            raise RuntimeError

    for _ in range(3):
        with pytest.raises(RuntimeError):
            change_then_roll_back()
    Credential.objects.filter(pk=credential.pk).update(certificate_number="Y")
    assert version(holder) not in seen
    assert len(seen) == 3


def holders_of(table: str, pk: int) -> set[int]:
    """Whose dashboard shows the row `pk` of `table`, found through the models."""
    from credentials.models import Course, Membership, OrganisationMember
    from seu_ledger.models import CarriedUnits, Entry, Renewal

    if table == "credentials_organisation":
        trained = Credential.objects.filter(source_course__organisation_id=pk)
        return set(trained.values_list("holder_id", flat=True))
    if table == "credentials_course":
        course = Course.objects.get(pk=pk)
        attendees = course.attendances.values_list("holder_id", flat=True)
        earned = Credential.objects.filter(source_course=course).values_list("holder_id", flat=True)
        logged = Entry.objects.filter(source_course=course).values_list("holder_id", flat=True)
        return set(attendees) | set(earned) | set(logged)
    found = {
        "credentials_credential": lambda: Credential.objects.get(pk=pk).holder_id,
        "credentials_membership": lambda: Membership.objects.get(pk=pk).holder_id,
        "credentials_organisationmember": lambda: OrganisationMember.objects.get(pk=pk).user_id,
        "credentials_term": lambda: Term.objects.get(pk=pk).credential.holder_id,
        "seu_ledger_entry": lambda: Entry.objects.get(pk=pk).holder_id,
        "seu_ledger_fee": lambda: Fee.objects.get(pk=pk).holder_id,
        "seu_ledger_allocation": lambda: Allocation.objects.get(pk=pk).entry.holder_id,
        "seu_ledger_carriedunits": lambda: CarriedUnits.objects.get(pk=pk).entry.holder_id,
        "seu_ledger_renewal_entries": lambda: (
            Renewal.entries.through.objects.get(pk=pk).entry.holder_id
        ),
        "seu_ledger_renewal": lambda: Renewal.objects.get(pk=pk).closed_term.credential.holder_id,
    }[table]()
    return {found}


def test_a_write_to_any_row_of_any_holder_table_moves_exactly_its_holders(settings):
    """Every table in the current list, through its own way to the holder (a course to its
    attendees, a renewal to its credential's holder...): a raw UPDATE of one row moves the
    versions of the holders the models say it belongs to, and nobody else's."""
    from credentials.models import Membership

    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    pmp = Credential.objects.get(holder__email="pia.pmp@example.com")
    Membership.objects.create(holder=pmp.holder, issuer=pmp.program.issuer, member_id="1")
    for spec in page_versions.HOLDER_TABLES:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT MIN(id) FROM {spec.table}")  # noqa: S608 - a listed table
            (pk,) = cursor.fetchone()
        assert pk is not None, f"the demo has no row in {spec.table}"
        before = dict(User.objects.values_list("pk", "ledger_version"))
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {spec.table} SET id = id WHERE id = %s", [pk])  # noqa: S608
        after = dict(User.objects.values_list("pk", "ledger_version"))
        moved = {holder for holder, version in after.items() if version != before[holder]}
        assert moved == holders_of(spec.table, pk), spec.table


@pytest.mark.skipif(connection.vendor != "postgresql", reason="TRUNCATE and sequences")
def test_truncating_a_holder_table_refreshes_every_page(pat):
    before = revision()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE seu_ledger_allocation")
    assert revision() != before


@pytest.mark.skipif(connection.vendor != "postgresql", reason="TRUNCATE and sequences")
def test_installing_starts_above_every_version_already_given(pat):
    """Holders keep the counters they had before the triggers; the sequence starts above them
    and above itself, so a migration back and forth never gives a value twice."""
    holder, credential = pat
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT last_value FROM {page_versions.SEQUENCE}")  # noqa: S608
        (last,) = cursor.fetchone()
    User.objects.filter(pk=holder.pk).update(ledger_version=last + 1000)
    lists = (page_versions.HOLDER_TABLES, page_versions.RULES_TABLES)
    with connection.cursor() as cursor:
        for statement in page_versions.remove_sql("postgresql", *lists):
            cursor.execute(statement)
        for statement in page_versions.install_sql("postgresql", *lists):
            cursor.execute(statement)
    Credential.objects.filter(pk=credential.pk).update(certificate_number="Z")
    assert version(holder) > last + 1000


SQLITE_REBUILD = """
import django
django.setup()
from django.core.management import call_command
from django.db import connection
from django.db.models.signals import post_migrate, pre_migrate
from seu_ledger import page_versions
from seu_ledger.models import Entry, Fee

call_command("migrate", verbosity=0)
expected = {spec.table for spec in page_versions.HOLDER_TABLES} | set(page_versions.RULES_TABLES)
assert page_versions.triggered_tables(connection) == expected
# What `migrate` does around a migration that alters a field: SQLite rebuilds the table.
page_versions.sqlite_triggers_drop()
for model, name in ((Entry, "title"), (Fee, "description")):
    old = model._meta.get_field(name)
    new = old.clone()
    new.set_attributes_from_name(name)
    new.max_length = old.max_length + 1
    with connection.schema_editor() as editor:
        editor.alter_field(model, old, new)
page_versions.sqlite_triggers_install()
assert page_versions.triggered_tables(connection) == expected
receivers = {r[1]() for r in pre_migrate.receivers} | {r[1]() for r in post_migrate.receivers}
assert page_versions.sqlite_triggers_drop in receivers
assert page_versions.sqlite_triggers_install in receivers
print("ok")
"""


@pytest.mark.django_db(databases=[])
def test_on_sqlite_a_table_rebuilt_by_a_migration_keeps_its_triggers(tmp_path):
    """SQLite alters a field by rebuilding its table, which drops the table's triggers (and
    renaming trips other tables' triggers that name it): they come off before and back on
    after, as `migrate` does."""
    run_on_sqlite(SQLITE_REBUILD, tmp_path)


def _trigger_plans(cursor) -> list[str]:
    """The plans auto_explain sent this connection for the course trigger's UPDATE."""
    notices = cursor.connection.notices
    plans = [n for n in notices if "UPDATE credentials_user" in n and "attendance" in n]
    notices.clear()
    return [re.sub(r"^.*?duration: [\d.]+ ms", "", plan, flags=re.DOTALL) for plan in plans]


def test_a_trigger_plans_its_update_each_time_it_fires(pat):
    """The first course of an import on an empty database must not fix the plan for the rest
    of the connection (PL/pgSQL keeps a parameterless statement's plan): each firing plans
    for the tables as they are then. A kept plan would print the same estimates again."""
    from tests.factories import cspo_course

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's plan cache")
    holder, _ = pat
    with connection.cursor() as cursor:
        cursor.execute("LOAD 'auto_explain'")
        cursor.execute("SET auto_explain.log_min_duration = 0")
        cursor.execute("SET auto_explain.log_nested_statements = on")
        cursor.execute("SET client_min_messages = log")
        cspo_course("PLAN-1")
        cspo_course("PLAN-2")
        first = _trigger_plans(cursor.cursor)
        # The tables the course trigger looks up grow by thousands of rows.
        cursor.execute(
            "INSERT INTO seu_ledger_entry (holder_id, activity_date, title, provider, hours, "
            "description, evidence, void_reason, created_at, updated_at, category_id) "
            "SELECT %s, DATE '2026-01-01' + (n %% 300), 'Bulk ' || n, '', 1, '', '', '', now(), "
            "now(), (SELECT id FROM seu_ledger_category LIMIT 1) FROM generate_series(1, 5000) n",
            [holder.pk],
        )
        cspo_course("PLAN-3")
        later = _trigger_plans(cursor.cursor)
        cursor.execute("SET client_min_messages = notice")
    assert first
    assert later
    assert later[-1] != first[-1]
