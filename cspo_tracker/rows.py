"""Model instances from rows read in plain SQL, converted as the ORM converts them.

Hot paths (the session read on every signed-in request, a holder's credentials on every
holder page) read several models' columns in one hand-written query. `ModelReader` gives the
column list to put in such a query and turns its slice of a result row back into the model
instance the ORM would have built: the database backend's and the fields' converters applied
(SQLite hands back naive datetimes and untyped decimals), `Model.from_db` called, so the
instance is as loaded from the database.
"""

from django.db import connections


class ModelReader:
    """A model's concrete columns as `alias."column"` SQL (`sql`, `width` columns, the primary
    key at `pk`), and the instance a slice of a row makes (`instance`). Built for one database
    connection alias; `ModelReader.of` keeps one per model, table alias and vendor."""

    _made: dict = {}

    def __init__(self, model, alias: str, using: str = "default"):
        connection = connections[using]
        self.model = model
        self.using = using
        fields = model._meta.concrete_fields
        self.names = [field.attname for field in fields]
        self.width = len(fields)
        self.pk = list(fields).index(model._meta.pk)
        self.sql = ", ".join(f'{alias}."{field.column}"' for field in fields)
        self.converters = []
        for index, field in enumerate(fields):
            column = field.get_col(alias)
            found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            if found:
                self.converters.append((index, column, found))

    @classmethod
    def of(cls, model, alias: str, using: str = "default") -> "ModelReader":
        """The reader of `model` under table alias `alias` on connection `using`, made once per
        database vendor."""
        key = (model, alias, using, connections[using].vendor)
        if key not in cls._made:
            cls._made[key] = cls(model, alias, using)
        return cls._made[key]

    def instance(self, row, start: int = 0):
        """The model instance in row[start:start + width], or None when its primary key is
        NULL (the empty side of a LEFT JOIN)."""
        values = list(row[start : start + self.width])
        if values[self.pk] is None:
            return None
        connection = connections[self.using]
        for index, column, found in self.converters:
            for convert in found:
                values[index] = convert(values[index], column, connection)
        return self.model.from_db(self.using, self.names, values)
