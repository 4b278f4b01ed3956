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


class _Converted(dict):
    """The COPY fields of values seen before (dates, decimals, flags repeat a lot), for one
    column holding one type (so that equal values of two types, 1 and True, never meet)."""

    def __missing__(self, value) -> str:
        text = self[value] = _csv_field(value)
        return text


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _column(values: tuple) -> Iterable[str]:
    """The COPY fields of one column's values. Columns of one plain type are converted by
    functions written in C, mapped over the column (an import writes millions of fields); a
    column of mixed types or with NULLs, value by value."""
    kinds = set(map(type, values))
    kind = kinds.pop() if len(kinds) == 1 else None
    if kind is str:
        return map(_quoted if '"' in "".join(values) else '"{}"'.format, values)
    if kind is int:
        return map(str, values)
    if kind in (bool, datetime.date, datetime.datetime, Decimal):
        return map(_Converted().__getitem__, values)
    return map(_field, values)


def _field(value) -> str:
    kind = type(value)
    if kind is str:
        return _quoted(value)
    if kind is int:
        return str(value)
    return _csv_field(value)


def insert_rows(model, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Insert rows of `model`, given as tuples of the (attribute) `columns`; returns how many."""
    rows = list(rows)
    if not rows:
        return 0
    if connection.vendor == "postgresql":
        fields = [model._meta.get_field(name) for name in columns]
        # Column by column (zip(*rows) turns rows into columns), then back into lines.
        fields_by_column = [_column(values) for values in zip(*rows, strict=True)]
        lines = map(",".join, zip(*fields_by_column, strict=True))
        buffer = io.BytesIO(("\n".join(lines) + "\n").encode())
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
