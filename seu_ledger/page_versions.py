"""Versions of what a holder's cached pages show, moved by the database itself.

A cached dashboard is keyed by the holder's `ledger_version` (on their user row) and by the
rules' `RulesRevision`. Both are moved by triggers on the tables the page reads, so every write
moves them: the ORM, bulk inserts and COPY of a roster import, `QuerySet.update()`, the admin,
a data migration, a hand-written SQL fix. There is no list of writers to keep complete, only a
list of tables, and `tests/seu_ledger/test_page_versions.py` checks it against the tables the
dashboard actually reads.

- A table of a holder's records (entries, allocations, fees, credentials, terms...) names how
  to find the holder of a changed row; after each statement, every holder whose rows it
  inserted, updated (before or after the change) or deleted gets a new `ledger_version`.
- A table of rules (issuers, programs, categories, rule versions...) moves the single
  `RulesRevision` row after each statement that changes it, truncation included.

- Emptying a holder's table with TRUNCATE (no rows to name) moves the rules revision, which
  every cached page's key holds: all of them are drawn anew.

New values come from a sequence on PostgreSQL (never reused, even when a transaction rolls
back, so a page drawn inside a rolled-back transaction cannot be served for a later change
that reaches the same number); installing starts it above every value a holder already has.
SQLite, the single-process embedded default, has no sequences: its row triggers draw a random
62-bit value instead. SQLite also rebuilds a table to alter it, which drops the table's
triggers, and checks other tables' triggers as it renames: `migrate` drops them all first and
puts back the current set after (`sqlite_triggers_drop`/`sqlite_triggers_install`, connected
in `apps.py`).

What bypasses triggers bypasses this too: `session_replication_role = replica` (as pg_restore
may set) and `ALTER TABLE ... DISABLE TRIGGER`. Whoever does that restarts the web processes
after, which empties their page caches.

The statements are built here. Migration seu_ledger 0012 installed them with its own frozen
copy of the table lists; `HOLDER_TABLES` and `RULES_TABLES` below are the current lists (a
change to them comes with a migration).
"""

# ruff: noqa: S608 - the SQL here is built from table and column names in migrations, never input

from __future__ import annotations

from dataclasses import dataclass

SEQUENCE = "page_version_seq"
USERS = "credentials_user"
RULES = "credentials_rulesrevision"


@dataclass(frozen=True)
class HolderTable:
    """A table of a holder's records: `column` holds what `lookup` turns into holder ids
    (`{ids}` in it is replaced by the changed rows' values), or the holder id itself when
    `lookup` is empty."""

    table: str
    column: str
    lookup: str = ""

    def holders(self, ids: str) -> str:
        """SQL selecting the holder ids of the changed rows whose `column` values `ids`
        selects."""
        return self.lookup.format(ids=ids) if self.lookup else ids


ENTRY_HOLDER = "SELECT holder_id FROM seu_ledger_entry WHERE id IN ({ids})"
CREDENTIAL_HOLDER = "SELECT holder_id FROM credentials_credential WHERE id IN ({ids})"
TERM_HOLDER = (
    "SELECT c.holder_id FROM credentials_term t JOIN credentials_credential c "
    "ON c.id = t.credential_id WHERE t.id IN ({ids})"
)
COURSE_HOLDERS = (
    "SELECT holder_id FROM credentials_credential WHERE source_course_id IN ({ids}) "
    "UNION SELECT holder_id FROM credentials_attendance WHERE course_id IN ({ids}) "
    "UNION SELECT holder_id FROM seu_ledger_entry WHERE source_course_id IN ({ids})"
)
# A training organisation's name shows as "trained by" on the credentials its courses issued.
ORGANISATION_HOLDERS = (
    "SELECT c.holder_id FROM credentials_credential c JOIN credentials_course co "
    "ON co.id = c.source_course_id WHERE co.organisation_id IN ({ids})"
)
HOLDER_TABLES = (
    HolderTable("credentials_credential", "holder_id"),
    HolderTable("credentials_membership", "holder_id"),
    HolderTable("credentials_term", "credential_id", CREDENTIAL_HOLDER),
    HolderTable("credentials_course", "id", COURSE_HOLDERS),
    HolderTable("seu_ledger_entry", "holder_id"),
    HolderTable("seu_ledger_fee", "holder_id"),
    HolderTable("seu_ledger_allocation", "entry_id", ENTRY_HOLDER),
    HolderTable("seu_ledger_carriedunits", "entry_id", ENTRY_HOLDER),
    HolderTable("seu_ledger_renewal_entries", "entry_id", ENTRY_HOLDER),
    HolderTable("seu_ledger_renewal", "closed_term_id", TERM_HOLDER),
    HolderTable("credentials_organisation", "id", ORGANISATION_HOLDERS),
    # The header's "Organisation" link: shown to members of a training organisation.
    HolderTable("credentials_organisationmember", "user_id"),
)
RULES_TABLES = (
    "credentials_issuer",
    "credentials_program",
    "seu_ledger_category",
    "seu_ledger_categorymapping",
    "seu_ledger_ruleversion",
    "seu_ledger_categorylimit",
)
EVERY_PAGE = "page_version_every_page"  # the function moving the rules revision


def _new_value(vendor: str) -> str:
    """SQL giving a version value never given before (PostgreSQL) or at random (SQLite)."""
    if vendor == "postgresql":
        return f"nextval('{SEQUENCE}')"
    return "(random() & 4611686018427387903)"


def _name(table: str, suffix: str = "") -> str:
    """The name of a trigger (or of its function) on `table`."""
    return f"page_version_{table}{suffix}"


def install_sql(vendor: str, holder_tables, rules_tables) -> list[str]:
    """The statements creating the sequence, functions and triggers for `vendor`
    ("postgresql" or "sqlite"), and the `RulesRevision` row. Raises ValueError for another
    database."""
    if vendor == "postgresql":
        return [*_postgresql(holder_tables, rules_tables), _rules_bump(vendor)]
    if vendor == "sqlite":
        return [*_sqlite(holder_tables, rules_tables), _rules_bump(vendor)]
    raise ValueError(f"page versions need triggers written for {vendor}")


def remove_sql(vendor: str, holder_tables, rules_tables) -> list[str]:
    """The statements dropping what `install_sql` created (on PostgreSQL, all but the
    sequence)."""
    names = [t.table for t in holder_tables] + list(rules_tables)
    if vendor == "postgresql":
        # The sequence stays: values it gave must never be given again, even after a
        # migration back and forth.
        return [f"DROP FUNCTION IF EXISTS {_name(table)}() CASCADE" for table in names] + [
            f"DROP FUNCTION IF EXISTS {EVERY_PAGE}() CASCADE"
        ]
    if vendor == "sqlite":
        return [
            f"DROP TRIGGER IF EXISTS {_name(table, suffix)}"
            for table in names
            for suffix in ("_ins", "_upd", "_del")
        ]
    raise ValueError(f"page versions need triggers written for {vendor}")


def _rules_bump(vendor: str) -> str:
    """SQL giving the rules revision (every cached page's key) a new value."""
    return (
        f"INSERT INTO {RULES} (id, revision) VALUES (1, {_new_value(vendor)}) "
        "ON CONFLICT (id) DO UPDATE SET revision = excluded.revision"
    )


def _holders_bump(vendor: str, holders: str) -> str:
    """SQL giving the holders `holders` selects a new `ledger_version`."""
    return f"UPDATE {USERS} SET ledger_version = {_new_value(vendor)} WHERE id IN ({holders})"


def _postgresql(holder_tables, rules_tables) -> list[str]:
    """Statement-level triggers with transition tables: one holder update per statement."""
    statements = [
        f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE}",
        # Above every value already given: the counters holders had, and the sequence's own.
        f"SELECT setval('{SEQUENCE}', GREATEST((SELECT COALESCE(MAX(ledger_version), 0) "
        f"FROM {USERS}), (SELECT last_value FROM {SEQUENCE}), 1))",
        f"""CREATE OR REPLACE FUNCTION {EVERY_PAGE}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_rules_bump("postgresql")};
    RETURN NULL;
END $$""",
    ]
    for spec, body in zip(holder_tables, holder_functions_sql(holder_tables), strict=True):
        statements.append(body)
        function = _name(spec.table)
        for suffix, event, tables in (
            ("_ins", "INSERT", "NEW TABLE AS new_rows"),
            ("_upd", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            ("_del", "DELETE", "OLD TABLE AS old_rows"),
        ):
            statements.append(
                f"CREATE TRIGGER {_name(spec.table, suffix)} AFTER {event} ON {spec.table} "
                f"REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
            )
        statements.append(
            f"CREATE TRIGGER {_name(spec.table, '_trunc')} AFTER TRUNCATE ON {spec.table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {EVERY_PAGE}()"
        )
    for table in rules_tables:
        function = _name(table)
        statements.append(
            f"""CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_rules_bump("postgresql")};
    RETURN NULL;
END $$"""
        )
        statements.append(
            f"CREATE TRIGGER {_name(table)} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )
    return statements


def holder_functions_sql(holder_tables) -> list[str]:
    """PostgreSQL: the trigger function of each holder table, in the order given (CREATE OR
    REPLACE, so running them again replaces the functions in place).

    Each runs its UPDATE with EXECUTE, planned afresh every time it fires. PL/pgSQL would
    otherwise plan a parameterless statement once per connection and keep that plan: planned
    while the tables it looks up were small (the first batch of a roster import on an empty
    database), it kept scanning them whole for every later batch, a cost growing with the
    square of the import. A statement-level trigger fires once per statement, so planning it
    each time costs little."""
    statements = []
    for spec in holder_tables:
        new = spec.holders(f"SELECT {spec.column} FROM new_rows")
        old = spec.holders(f"SELECT {spec.column} FROM old_rows")
        function = _name(spec.table)
        statements.append(
            f"""CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        EXECUTE $sql${_holders_bump("postgresql", new)}$sql$;
    ELSIF TG_OP = 'DELETE' THEN
        EXECUTE $sql${_holders_bump("postgresql", old)}$sql$;
    ELSE
        EXECUTE $sql${_holders_bump("postgresql", f"{new} UNION {old}")}$sql$;
    END IF;
    RETURN NULL;
END $$"""
        )
    return statements


def _sqlite(holder_tables, rules_tables) -> list[str]:
    """Row triggers (SQLite has no others), created only where missing."""
    statements = []
    for spec in holder_tables:
        for suffix, event, rows in (
            ("_ins", "INSERT", ["NEW"]),
            ("_upd", "UPDATE", ["NEW", "OLD"]),
            ("_del", "DELETE", ["OLD"]),
        ):
            holders = " UNION ".join(spec.holders(f"SELECT {row}.{spec.column}") for row in rows)
            statements.append(
                f"CREATE TRIGGER IF NOT EXISTS {_name(spec.table, suffix)} AFTER {event} "
                f"ON {spec.table} FOR EACH ROW BEGIN {_holders_bump('sqlite', holders)}; END"
            )
    for table in rules_tables:
        for suffix, event in (("_ins", "INSERT"), ("_upd", "UPDATE"), ("_del", "DELETE")):
            statements.append(
                f"CREATE TRIGGER IF NOT EXISTS {_name(table, suffix)} AFTER {event} ON {table} "
                f"FOR EACH ROW BEGIN {_rules_bump('sqlite')}; END"
            )
    return statements


def triggered_tables(connection) -> set[str]:
    """The tables that carry a page-version trigger in the database `connection` points at
    (read from the catalog, not from the lists above)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE NOT t.tgisinternal AND t.tgname LIKE 'page_version_%%'"
            )
        else:
            cursor.execute(
                "SELECT DISTINCT tbl_name FROM sqlite_master "
                "WHERE type = 'trigger' AND name LIKE 'page_version_%'"
            )
        return {row[0] for row in cursor.fetchall()}


def rules_revision(user=None) -> int | None:
    """The current `RulesRevision.revision`: the value read with the signed-in `user`'s row
    when there is one (`credentials.backends.AccountStateBackend.get_user`), else one query.
    None before the first migration has run."""
    revision = getattr(user, "rules_revision", None)
    if revision is not None:
        return revision
    from credentials.models import RulesRevision  # models are not ready at import time

    return RulesRevision.objects.filter(pk=1).values_list("revision", flat=True).first()


MIGRATION = ("seu_ledger", "0012_page_version_triggers")


def sqlite_triggers_drop(using: str = "default", **kwargs) -> None:
    """Before `migrate` on SQLite: drop every page-version trigger, so rebuilding a table to
    alter it neither fails on another table's trigger nor loses its own. (pre_migrate)"""
    from django.db import connections

    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'page_version_%'"
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP TRIGGER IF EXISTS "{name}"')


def sqlite_triggers_install(using: str = "default", **kwargs) -> None:
    """After `migrate` on SQLite: put back the current triggers when the migration that
    brought them is applied. (post_migrate)"""
    from django.db import connections
    from django.db.migrations.recorder import MigrationRecorder

    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    if MIGRATION not in MigrationRecorder(connection).applied_migrations():
        return
    # Only on tables there are (migrated back, a later app's tables may be gone).
    existing = set(connection.introspection.table_names())
    holder_tables = [spec for spec in HOLDER_TABLES if spec.table in existing]
    rules_tables = [table for table in RULES_TABLES if table in existing]
    with connection.cursor() as cursor:
        for statement in _sqlite(holder_tables, rules_tables):
            cursor.execute(statement)
