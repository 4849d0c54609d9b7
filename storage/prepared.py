"""The statements on every command's and every team's path, run on the driver's cursor.

SQLAlchemy runs a cached Core statement at several times the cost of the statement on
SQLite (a one-row read: 23 µs against 5 µs; a page of thirty topics: 200 µs against
76 µs), most of it building the execution context and the result's rows. For the few
statements that every command or every team of a tick runs, this module compiles the
statement once per dialect — its SQL text, the converter of each parameter and of each
column, exactly those SQLAlchemy would use — and runs it on the DBAPI cursor of the
session's own connection, inside the session's transaction. The SQL sent is the same
as SQLAlchemy would send, a driver error arrives as SQLAlchemy's `DBAPIError` (so
callers keep catching what they caught), and `before_cursor_execute` listeners still
hear every statement (the tests count them).

A statement whose SQL is finished only at execution (an `IN` over an expanding list,
a literal-rendered value) is run by SQLAlchemy as before: nothing is prepared for it.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable
from sqlmodel import Session

Converter = Callable[[Any], Any] | None


def rows(session: Session, statement: Executable, params: Mapping[str, Any]) -> list[Any]:
    """Every row `statement` returns, as named tuples (columns as attributes)."""
    return _run(session, statement, params, "all")[0]


def first(session: Session, statement: Executable, params: Mapping[str, Any]) -> Any | None:
    """The first row `statement` returns, or None."""
    found = _run(session, statement, params, "one")[0]
    return found[0] if found else None


def write(session: Session, statement: Executable, params: Mapping[str, Any]) -> int:
    """Run an INSERT, UPDATE or DELETE without RETURNING; how many rows it changed."""
    return _run(session, statement, params, "count")[1]


def _run(
    session: Session, statement: Executable, params: Mapping[str, Any], fetch: str
) -> tuple[list[Any], int]:
    connection = session.connection()
    dialect = connection.dialect
    plan = _plan(statement, dialect, params)
    if plan is None:
        result = connection.execute(statement, params)
        if fetch == "count":
            return [], result.rowcount
        if fetch == "one":
            found = result.first()
            return ([] if found is None else [found]), 0
        return list(result.all()), 0
    values = plan.parameters(params)
    cursor = connection.connection.cursor()
    try:
        for listener in connection.dispatch.before_cursor_execute:
            listener(connection, cursor, plan.sql, values, None, False)
        try:
            cursor.execute(plan.sql, values)
            if fetch == "count" or cursor.description is None:
                return [], cursor.rowcount
            if fetch == "one":
                row = cursor.fetchone()
                fetched: Sequence[Any] = [] if row is None else [row]
            else:
                fetched = cursor.fetchall()
        except dialect.loaded_dbapi.Error as error:
            raise _wrapped(connection, plan.sql, values, error, cursor) from error
        return (plan.shaped(fetched, cursor.description) if fetched else []), 0
    finally:
        cursor.close()


def _wrapped(connection: Connection, sql: str, values: Any, error: Any, cursor: Any) -> Exception:
    """The driver's error as SQLAlchemy would raise it, the connection dropped from the
    pool when the error says it is gone (as SQLAlchemy does)."""
    dialect = connection.dialect
    if dialect.is_disconnect(error, connection.connection, cursor):
        connection.invalidate(error)
    wrapped: Exception = DBAPIError.instance(sql, values, error, dialect.loaded_dbapi.Error)
    return wrapped


@dataclass
class _Plan:
    """A statement compiled for one dialect."""

    sql: str
    names: tuple[str, ...] | None  # positional parameters in order; None: by name
    construct: Callable[[Mapping[str, Any]], dict[str, Any]]
    binds: Mapping[str, Callable[[Any], Any]]
    keys: tuple[str, ...]
    types: tuple[Any, ...]
    dialect: Dialect
    # The row type, and the columns whose values need converting with their converters.
    _shape: tuple[Any, list[tuple[int, Callable[[Any], Any]]]] | None = field(default=None)

    def parameters(self, params: Mapping[str, Any]) -> Any:
        values = self.construct(params)
        for name, convert in self.binds.items():
            if name in values:
                values[name] = convert(values[name])
        if self.names is None:
            return values
        return tuple(values[name] for name in self.names)

    def shaped(self, fetched: Sequence[Any], description: Any) -> list[Any]:
        if self._shape is None:
            # The converters depend on the type the driver reports, known from the first
            # result: the same for every execution of one statement.
            converters: list[Converter] = [
                kind.dialect_impl(self.dialect).result_processor(self.dialect, column[1])
                for kind, column in zip(self.types, description, strict=True)
            ]
            converted = [(at, convert) for at, convert in enumerate(converters) if convert]
            self._shape = (namedtuple("Row", self.keys, rename=True), converted)
        row_type: Any
        row_type, converted = self._shape
        if not converted:
            return [row_type._make(row) for row in fetched]
        shaped = []
        for row in fetched:  # most columns come as they are: convert only the others
            values = list(row)
            for at, convert in converted:
                values[at] = convert(values[at])
            shaped.append(row_type._make(values))
        return shaped


def _plan(statement: Executable, dialect: Dialect, params: Mapping[str, Any]) -> _Plan | None:
    # An INSERT or UPDATE compiles to the columns it is given values for.
    columns = tuple(params) if statement.is_dml else None
    plans = _plans.setdefault((dialect.name, dialect.driver), {})
    key = (id(statement), columns)
    found = plans.get(key)
    if found is None:
        if len(plans) >= _PLANS_MAX:
            plans.clear()  # only statements built anew for each call could fill it
        # The statement is kept beside its plan, so that its id is not reused meanwhile.
        found = plans[key] = (statement, _compiled(statement, dialect, columns))
    return found[1]


_PLANS_MAX = 1024
# Statements here are built once and kept (module constants, `lru_cache`d builders), so
# they are keyed by identity; one compilation serves every engine of the same backend.
_plans: dict[tuple[str, str], dict[tuple[int, Any], tuple[Executable, _Plan | None]]] = {}


def _compiled(
    statement: Executable, dialect: Dialect, columns: tuple[str, ...] | None
) -> _Plan | None:
    """The statement compiled for `dialect`, or None when its SQL is finished only at
    execution (expanding `IN`, literal-rendered values)."""
    compiled: Any = cast(Any, statement).compile(
        dialect=dialect, column_keys=None if columns is None else list(columns)
    )
    if "POSTCOMPILE" in compiled.string or compiled.literal_execute_params:
        return None
    binds = {
        name: bind.type.dialect_impl(dialect).bind_processor(dialect)
        for name, bind in compiled.binds.items()
    }
    selected: list[Any] = list(getattr(statement, "exported_columns", ()))
    return _Plan(
        sql=compiled.string,
        names=tuple(compiled.positiontup) if dialect.positional else None,
        construct=compiled.construct_params,
        binds={name: convert for name, convert in binds.items() if convert is not None},
        keys=tuple(str(column.key) for column in selected),
        types=tuple(column.type for column in selected),
        dialect=dialect,
    )
