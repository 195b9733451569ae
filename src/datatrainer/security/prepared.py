"""`Prepared`: a Core statement compiled once for one dialect and run straight on the DBAPI cursor.

Every API request looks up its token, and every write appends to the audit chain (take the head, add the entry
and its payload, move the head). Through `Connection.execute` each of those statements costs ~35-50 µs of
SQLAlchemy's per-execution work (execution context, parameter processing, result object) for a one-row
indexed read or write that SQLite does in a few: measured under 50 annotators, that work was a sixth of the
server's CPU per request. A `Prepared` statement keeps the part of that work that decides what is stored and
read (the dialect's SQL, its parameter style, and each column type's bind and result processors, taken from
the compiled statement) and drops the rest, so values are written and read back exactly as through SQLAlchemy.

It runs on the DBAPI connection of a SQLAlchemy `Connection`, inside that connection's transaction: the
caller's transaction, locks and commit are unchanged. Only simple statements qualify (no expanding IN lists,
no multi-row values); anything else stays on `Connection.execute`.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.exc import MultipleResultsFound, NoResultFound
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement


class Prepared:
    """One statement for one dialect: its SQL, its parameters' order and processors, its columns' processors."""

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler), "only SQL statements are prepared"
        self.sql = compiled.string
        self._names: Sequence[str] = compiled.positiontup if compiled.positional and compiled.positiontup else []
        self._positional = compiled.positional
        rendered = compiled.bind_names  # each parameter as named in the SQL
        self._defaults = {name: bind.value for bind, name in rendered.items() if bind.value is not None}
        self._binds: dict[str, Callable[[Any], Any]] = {}
        for bind, name in rendered.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                self._binds[name] = process
        columns = list(getattr(statement, "exported_columns", ()))  # selected or returned
        self._results = [column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns]
        self.returns_rows = bool(columns)

    def parameters(self, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        """The values in the driver's parameter style, each through its type's bind processor."""
        merged = {**self._defaults, **values} if self._defaults else values
        binds = self._binds
        if self._positional:
            return tuple(binds[name](merged[name]) if name in binds else merged[name] for name in self._names)
        return {name: binds[name](value) if name in binds else value for name, value in merged.items()}

    def execute(self, connection: Connection, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run in `connection`'s current transaction; the rows it returns (if any), through the result
        processors of their columns."""
        cursor = connection.connection.cursor()
        try:
            cursor.execute(self.sql, self.parameters(values))
            rows = cursor.fetchall() if self.returns_rows else []
        finally:
            cursor.close()
        results = self._results
        if not rows or not any(results):
            return [tuple(row) for row in rows]
        return [tuple(value if process is None else process(value) for process, value in zip(results, row,
                                                                                               strict=True))
                for row in rows]


class PreparedFor:
    """A statement prepared for each dialect that runs it. Keyed by the dialect object itself (one per engine),
    never by its name: column types may take per-engine state from it (sealed columns find their workspace's
    key through it)."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._by_dialect: weakref.WeakKeyDictionary[Dialect, Prepared] = weakref.WeakKeyDictionary()

    def on(self, connection: Connection) -> Prepared:
        dialect = connection.dialect
        prepared = self._by_dialect.get(dialect)
        if prepared is None:
            prepared = self._by_dialect[dialect] = Prepared(self.statement, dialect)
        return prepared

    def execute(self, connection: Connection, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        return self.on(connection).execute(connection, values)

    def one(self, connection: Connection, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """The single row the statement returns; no row or several raise as `Result.one()` does, so callers
        keep SQLAlchemy's errors (a missing audit head is `NoResultFound`, not an unpacking error)."""
        rows = self.execute(connection, values)
        if not rows:
            raise NoResultFound("No row was found when one was required")
        if len(rows) > 1:
            raise MultipleResultsFound("Multiple rows were found when exactly one was required")
        return rows[0]
