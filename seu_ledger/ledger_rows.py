"""A holder's per-entry rows read in plain SQL: the hot path of every holder page.

`selectors.holder_ledgers` reads a holder's entries, allocations, the entries renewals used and
the units they carried over on every dashboard, activity form, history and renewal page. Built
by the ORM, those four queries cost more CPU to compile than to run (the profile in the
performance issue: about a millisecond each, a third of a fresh dashboard). Here they are
fixed SQL over the models' own table and column names, run with the database's own cursor,
returning plain tuples. Everything else the ledger loads stays on the ORM.

Every function takes holder ids (any number; callers pass chunks of a few thousand) and
returns a list of tuples in the order documented. Dates come back as `datetime.date` and
hours/units as `Decimal` on PostgreSQL and SQLite alike.
"""

import datetime
from decimal import Decimal

from django.db import connection

from credentials.models import Credential, Program, Term

from .models import Allocation, CarriedUnits, Entry, Fee, Renewal

ENTRY = Entry._meta.db_table
ALLOCATION = Allocation._meta.db_table
USED = Renewal.entries.through._meta.db_table
RENEWAL = Renewal._meta.db_table
CARRIED = CarriedUnits._meta.db_table
FEE = Fee._meta.db_table
TERM = Term._meta.db_table
CREDENTIAL = Credential._meta.db_table
PROGRAM = Program._meta.db_table


def _decimal(value) -> Decimal:
    """SQLite hands back decimal columns as int or float: as the ORM does, read them as the
    decimal they were written as (quarter hours, two places)."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _rows(sql: str, holder_ids) -> list[tuple]:
    holder_ids = list(holder_ids)
    if not holder_ids:
        return []
    marks = ", ".join(["%s"] * len(holder_ids))
    with connection.cursor() as cursor:
        cursor.execute(sql.format(holders=marks), holder_ids)
        return cursor.fetchall()


def entry_rows(holder_ids) -> list[tuple[int, int, datetime.date, int, Decimal, str, int, bool]]:
    """(holder id, entry id, activity date, category id, hours, title, source course id or
    None, voided) for every entry of the holders, voided ones included, newest first (the
    order `Entry.Meta.ordering` gives)."""
    rows = _rows(
        f"SELECT holder_id, id, activity_date, category_id, hours, title, source_course_id, "  # noqa: S608 - table names from the models
        f"voided_at IS NOT NULL FROM {ENTRY} WHERE holder_id IN ({{holders}}) "
        "ORDER BY activity_date DESC, id DESC",
        holder_ids,
    )
    return [
        (h, pk, day, c, _decimal(hours), t, course, bool(v))
        for h, pk, day, c, hours, t, course, v in rows
    ]


def allocation_rows(holder_ids) -> list[tuple[int, int, int, Decimal]]:
    """(holder id, entry id, category id, hours) for every allocation of the holders'
    entries, by entry, in the order they were written."""
    rows = _rows(
        f"SELECT e.holder_id, a.entry_id, a.category_id, a.hours FROM {ALLOCATION} a "  # noqa: S608 - table names from the models
        f"JOIN {ENTRY} e ON e.id = a.entry_id WHERE e.holder_id IN ({{holders}}) "
        "ORDER BY a.entry_id, a.id",
        holder_ids,
    )
    return [(h, entry, category, _decimal(hours)) for h, entry, category, hours in rows]


def used_rows(holder_ids) -> list[tuple[int, int, int, str, int, datetime.date]]:
    """(holder id, entry id, credential id, program code, closed term's sequence, renewed
    on) for every entry of the holders a renewal used, by entry."""
    return _rows(
        f"SELECT e.holder_id, u.entry_id, t.credential_id, p.code, t.sequence, r.renewed_on "  # noqa: S608 - table names from the models
        f"FROM {USED} u JOIN {ENTRY} e ON e.id = u.entry_id "
        f"JOIN {RENEWAL} r ON r.id = u.renewal_id JOIN {TERM} t ON t.id = r.closed_term_id "
        f"JOIN {CREDENTIAL} c ON c.id = t.credential_id JOIN {PROGRAM} p ON p.id = c.program_id "
        "WHERE e.holder_id IN ({holders}) ORDER BY u.entry_id, u.id",
        holder_ids,
    )


def carried_rows(holder_ids) -> list[tuple[int, int, int, int, Decimal]]:
    """(holder id, the term the units were carried into, entry id, category id, units) for
    every carried-over part of the holders' entries, in the order they were written."""
    rows = _rows(
        f"SELECT e.holder_id, r.new_term_id, c.entry_id, c.category_id, c.units "  # noqa: S608 - table names from the models
        f"FROM {CARRIED} c JOIN {ENTRY} e ON e.id = c.entry_id "
        f"JOIN {RENEWAL} r ON r.id = c.renewal_id WHERE e.holder_id IN ({{holders}}) "
        "ORDER BY c.id",
        holder_ids,
    )
    return [(h, term, entry, category, _decimal(units)) for h, term, entry, category, units in rows]


def used_fee_ids(holder_ids) -> set[int]:
    """Ids of the holders' fees that a renewal used."""
    rows = _rows(
        f"SELECT r.fee_id FROM {RENEWAL} r JOIN {FEE} f ON f.id = r.fee_id "  # noqa: S608 - table names from the models
        "WHERE f.holder_id IN ({holders})",
        holder_ids,
    )
    return {fee_id for (fee_id,) in rows}
