"""A holder's per-entry rows read in plain SQL: the hot path of every holder page.

`selectors.holder_ledgers` reads a holder's entries, allocations, the entries renewals used and
the units they carried over, and their fees, on every dashboard, activity form, history and
renewal page. Built by the ORM, those queries cost more CPU to compile than to run (the
profile in the performance issue: about a millisecond each, a third of a fresh dashboard), and
under load each round trip to the database waits its turn: here they are fixed SQL over the
models' own table and column names, as few as the shapes allow (allocations come joined to
their entries, a fee's use with the fee), returning plain tuples. The rest stays on the ORM.

Every function takes holder ids (any number; callers pass chunks of a few thousand) and
returns a list of tuples in the order documented. Dates come back as `datetime.date` and
hours/units as `Decimal` on PostgreSQL and SQLite alike.
"""

import datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection

from credentials.models import Credential, Membership, Program, Term
from cspo_tracker.rows import ModelReader

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


def credentials_with_terms(holder_ids) -> list[Credential]:
    """The holders' credentials by id, each with its holder and its terms (in sequence, as
    `credential.terms.all()` gives them, with no query of its own) loaded; `program` is left
    to the caller (the shared rules have it). One query, credentials joined to their holder
    and terms."""
    credential_reader = ModelReader.of(Credential, "c")
    holder_reader = ModelReader.of(get_user_model(), "u")
    term_reader = ModelReader.of(Term, "t")
    holder_meta = holder_reader.model._meta
    rows = _rows(
        f"SELECT {credential_reader.sql}, {holder_reader.sql}, {term_reader.sql} "  # noqa: S608 - table and column names from the models
        f"FROM {CREDENTIAL} c JOIN {holder_meta.db_table} u "
        f'ON u."{holder_meta.pk.column}" = c.holder_id '
        f"LEFT JOIN {TERM} t ON t.credential_id = c.id WHERE c.holder_id IN ({{holders}}) "
        "ORDER BY c.id, t.sequence",
        holder_ids,
    )
    holder_at = credential_reader.width
    term_at = holder_at + holder_reader.width
    cache_name = Term._meta.get_field("credential").remote_field.cache_name
    credentials: list[Credential] = []
    holders = {}
    terms: list[Term] = []
    for row in rows:
        if not credentials or credentials[-1].pk != row[credential_reader.pk]:
            credential = credential_reader.instance(row, 0)
            holder_id = row[holder_at + holder_reader.pk]
            if holder_id not in holders:
                holders[holder_id] = holder_reader.instance(row, holder_at)
            credential.holder = holders[holder_id]
            terms = []
            # What prefetch_related leaves: the credential's own terms queryset, filled.
            loaded = Term.objects.filter(credential_id=credential.pk)
            loaded._result_cache = terms
            loaded._prefetch_done = True
            credential._prefetched_objects_cache = {cache_name: loaded}
            credentials.append(credential)
        term = term_reader.instance(row, term_at)
        if term is not None:
            term.credential = credentials[-1]
            terms.append(term)
    return credentials


def entry_rows(holder_ids) -> list[tuple]:
    """(holder id, entry id, activity date, category id, hours, title, source course id or
    None, voided, allocations) for every entry of the holders, voided ones included, newest
    first (the order `Entry.Meta.ordering` gives); allocations is a list of (category id,
    hours) in the order they were written, empty when the entry has none. One query: the
    allocations come joined to their entry."""
    rows = _rows(
        f"SELECT e.holder_id, e.id, e.activity_date, e.category_id, e.hours, e.title, "  # noqa: S608 - table names from the models
        f"e.source_course_id, e.voided_at IS NOT NULL, a.category_id, a.hours FROM {ENTRY} e "
        f"LEFT JOIN {ALLOCATION} a ON a.entry_id = e.id WHERE e.holder_id IN ({{holders}}) "
        "ORDER BY e.activity_date DESC, e.id DESC, a.id",
        holder_ids,
    )
    entries: list[tuple] = []
    for holder, pk, day, category, hours, title, course, voided, split_to, split in rows:
        if not entries or entries[-1][1] != pk:
            entries.append(
                (holder, pk, day, category, _decimal(hours), title, course, bool(voided), [])
            )
        if split_to is not None:
            entries[-1][8].append((split_to, _decimal(split)))
    return entries


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


def _instances(model, sql: str, holder_ids) -> list:
    """`model` instances from `sql` (with `{holders}` where the holder ids go), as the ORM's
    raw() builds them."""
    holder_ids = list(holder_ids)
    if not holder_ids:
        return []
    marks = ", ".join(["%s"] * len(holder_ids))
    return list(model.objects.raw(sql.format(holders=marks), holder_ids))


def memberships(holder_ids) -> list[Membership]:
    """The holders' memberships (issuer, member id, paying or not), in no particular order.
    One query."""
    return _instances(
        Membership,
        f"SELECT * FROM {Membership._meta.db_table} WHERE holder_id IN ({{holders}})",  # noqa: S608 - table name from the model
        holder_ids,
    )


def fees_with_use(holder_ids) -> list[Fee]:
    """The holders' fee records, latest period first (`Fee.Meta.ordering`), each with `used`:
    whether a renewal used it. One query."""
    return _instances(
        Fee,
        f"SELECT f.*, EXISTS (SELECT 1 FROM {RENEWAL} r WHERE r.fee_id = f.id) AS used "  # noqa: S608 - table names from the models
        f"FROM {FEE} f WHERE f.holder_id IN ({{holders}}) ORDER BY f.period_ends_on DESC, f.id",
        holder_ids,
    )
