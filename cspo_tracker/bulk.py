"""Writing many rows fast: COPY on PostgreSQL, bulk_create elsewhere; and naming many rows
in one query parameter.

Imports write tens of thousands of rows; building a model instance per row costs more than the
database does. Rows here are plain tuples in `columns` order, and every NOT NULL column without
a database default must be among the columns. Existing rows must have been filtered out by the
caller (COPY has no ON CONFLICT): a clash raises IntegrityError and rolls the batch back.
"""

import datetime
import io
from collections.abc import Collection, Iterable, Sequence
from decimal import Decimal

from django.db import connection
from django.db.models.expressions import RawSQL

NULL = r"\N"
# COPY statements issued, for benchmarks (they do not pass through Django's execute wrappers).
copy_statements = [0]


def _csv_field(value) -> str:
    """One COPY field: NULL bare, everything else quoted (so no text can be read as NULL)."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        text = "t" if value else "f"
    elif isinstance(value, (datetime.date, datetime.datetime)):
        text = value.isoformat()
    elif isinstance(value, Decimal):
        text = format(value, "f")
    else:
        text = str(value)
    return '"' + text.replace('"', '""') + '"'


def insert_rows(model, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Insert rows of `model`, given as tuples of the (attribute) `columns`; returns how many."""
    rows = list(rows)
    if not rows:
        return 0
    if connection.vendor == "postgresql":
        fields = [model._meta.get_field(name) for name in columns]
        buffer = io.StringIO()
        converted: dict = {}  # dates, decimals and flags repeat a lot: convert each once

        def field(value) -> str:
            kind = type(value)
            if kind is str:
                return '"' + value.replace('"', '""') + '"'
            if kind is int:
                return str(value)
            key = (kind, value)
            text = converted.get(key)
            if text is None:
                text = converted[key] = _csv_field(value)
            return text

        for row in rows:
            buffer.write(",".join([field(value) for value in row]))
            buffer.write("\n")
        buffer.seek(0)
        names = ", ".join(connection.ops.quote_name(field.column) for field in fields)
        table = connection.ops.quote_name(model._meta.db_table)
        # The driver's own errors (a connection lost during COPY) become Django's, as for any
        # other query, so callers retry them like any other.
        with connection.cursor() as cursor, connection.wrap_database_errors:
            cursor.cursor.copy_expert(
                f"COPY {table} ({names}) FROM STDIN WITH (FORMAT csv, NULL '{NULL}')", buffer
            )
        copy_statements[0] += 1
    else:
        model.objects.bulk_create(
            [model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=1000
        )
    return len(rows)


def update_rows(model, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Set `columns` of existing rows of `model`, given as tuples (primary key, *values in
    `columns` order); returns how many rows were given. On PostgreSQL one UPDATE joined to
    arrays of the values (Django's bulk_update builds one CASE branch per row and column,
    which costs seconds for a few thousand rows); elsewhere bulk_update."""
    rows = list(rows)
    if not rows:
        return 0
    fields = [model._meta.pk, *(model._meta.get_field(name) for name in columns)]
    if connection.vendor != "postgresql":
        model.objects.bulk_update(
            [model(pk=row[0], **dict(zip(columns, row[1:], strict=True))) for row in rows],
            list(columns),
            batch_size=1000,
        )
        return len(rows)
    quote = connection.ops.quote_name
    arrays = [
        [field.get_db_prep_save(row[index], connection) for row in rows]
        for index, field in enumerate(fields)
    ]
    table = quote(model._meta.db_table)
    names = [quote(field.column) for field in fields]
    unnest = ", ".join(f"%s::{field.db_type(connection)}[]" for field in fields)
    assignments = ", ".join(f"{name} = v.{name}" for name in names[1:])
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {assignments} FROM unnest({unnest}) AS v({', '.join(names)}) "  # noqa: S608 - names from meta
            f"WHERE {table}.{names[0]} = v.{names[0]}",
            arrays,
        )
    return len(rows)


def many(values: Collection, *, of: str = "bigint"):
    """The right-hand side of an `__in` filter over many values (ids by default; `of` is
    their SQL type): on PostgreSQL one array parameter, where Django would prepare and send
    one parameter per value (seconds for a few hundred thousand). Elsewhere the values."""
    if connection.vendor != "postgresql" or not values:
        return list(values)
    return RawSQL(f"SELECT unnest(%s::{of}[])", (list(values),))  # noqa: S611 - `of` is ours
