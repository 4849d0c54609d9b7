"""Data access for KPIs: daily values, per-post metrics and monthly targets.

Writes are upserts keyed on the natural key (team, platform, metric, day …), which is
what makes logging a day twice a correction and importing a file twice a no-op.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

import sqlalchemy
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import ClauseElement
from sqlmodel import Session, col, select

from storage import prepared
from storage.db import dialect_insert
from storage.models import MANUAL, KpiDaily, Post, PostMetric, Target


class Upsert(StrEnum):
    INSERTED = "inserted"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


def same_value(a: float, b: float) -> bool:
    """Whether storing `b` over `a` changes nothing (what makes a value "unchanged")."""
    return abs(a - b) < 1e-9


ValueRow = KpiDaily | PostMetric | Target


def _upsert(
    session: Session,
    model: type[ValueRow],
    key: Mapping[str, Any],
    value: float,
    now: datetime,
    also: Mapping[str, Any] | None = None,
) -> tuple[Upsert, float | None]:
    """Set the `value` of the row with this natural key (and the columns in `also`, when
    the value changes); returns what happened and the value it replaced, if any.

    Core statements built once per model and key: `/kpi log` runs this for each metric
    it is given, and building and loading ORM rows for it cost more than the writes."""
    read, write, add = _upsert_statements(model, tuple(key), tuple(also or ()))
    found = prepared.first(session, read, key)
    if found is None:
        prepared.write(session, add, {**key, **(also or {}), "value": value, "updated_at": now})
        return Upsert.INSERTED, None
    if same_value(found.value, value):
        return Upsert.UNCHANGED, found.value
    changed = {**(also or {}), "row_id": found.id, "value": value, "updated_at": now}
    prepared.write(session, write, changed)
    loaded = session.identity_map.get(session.identity_key(model, found.id))
    if loaded is not None:  # read through the ORM earlier in this transaction
        session.expire(loaded)
    return Upsert.UPDATED, found.value


@lru_cache(maxsize=16)
def _upsert_statements(
    model: type[ValueRow], key: tuple[str, ...], also: tuple[str, ...]
) -> tuple[Any, Any, Any]:
    """The read by natural key, the update by id and the insert, built once."""
    table: sqlalchemy.Table = model.__table__  # type: ignore[union-attr]
    read = sqlalchemy.select(table.c.id, table.c.value).where(
        *(table.c[name] == sqlalchemy.bindparam(name) for name in key)
    )
    columns: dict[str, Any] = {
        name: sqlalchemy.bindparam(name) for name in ("value", "updated_at", *also)
    }
    write = sqlalchemy.update(table).where(table.c.id == sqlalchemy.bindparam("row_id"))
    write = write.values(columns)
    return read, write, sqlalchemy.insert(table)


def upsert_daily(
    session: Session,
    *,
    team_id: str,
    platform: str,
    day: date,
    metric: str,
    value: float,
    now: datetime,
    source: str = MANUAL,
) -> tuple[Upsert, float | None]:
    """Store a day's value: a second value for the same day replaces the first, and the
    value's `source` with it (an unchanged value keeps the source that gave it first)."""
    key = {"team_id": team_id, "platform": platform, "metric": metric, "day": day}
    return _upsert(session, KpiDaily, key, value, now, also={"source": source})


# One day's value as a bulk write or read carries it: (platform, day, metric, value).
DailyValue = tuple[str, date, str, float]
# A (platform, metric) and the first and last day of the values asked for.
DailyRange = tuple[str, str, date, date]
_KPI_DAILY: sqlalchemy.Table = KpiDaily.__table__  # type: ignore[attr-defined]
_READ_CHUNK = 10_000  # rows fetched at a time


@dataclass(frozen=True)
class _DriverStatement:
    """A Core statement compiled once for the connection's driver, then run with rows of
    plain values (in the order of `names`) that the columns' types have converted.

    For bulk work: Core's per-row parameter processing made an executemany of 40,000
    upserts take 3.5 times as long as the same statement given plain tuples (3.5 s against
    1.0 s), so the bulk functions below build their statements with Core and hand the
    driver plain tuples.
    """

    sql: str
    # Turns a row in `names` order into the driver's parameters (None: it is one already).
    shape: Callable[[tuple[Any, ...]], Any] | None

    @classmethod
    def compile(
        cls, statement: ClauseElement, dialect: Dialect, names: tuple[str, ...]
    ) -> _DriverStatement:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        if not compiled.positional:
            return cls(compiled.string, lambda row: dict(zip(names, row, strict=True)))
        order = [names.index(name) for name in compiled.positiontup or ()]
        if order == list(range(len(names))):
            return cls(compiled.string, None)
        return cls(compiled.string, operator.itemgetter(*order))

    def parameters(self, row: tuple[Any, ...]) -> Any:
        return row if self.shape is None else self.shape(row)

    def many(self, rows: list[tuple[Any, ...]]) -> list[Any]:
        return rows if self.shape is None else [self.shape(row) for row in rows]


def _bind(dialect: Dialect, column: str) -> Callable[[Any], Any]:
    """What the column's type makes of a value for this driver (a day as SQLite's text)."""
    processor = _KPI_DAILY.c[column].type.dialect_impl(dialect).bind_processor(dialect)
    return processor if processor is not None else (lambda value: value)


def _result(dialect: Dialect, column: str) -> Callable[[Any], Any]:
    """What the column's type makes of what this driver returns (SQLite's text as a day)."""
    type_ = _KPI_DAILY.c[column].type.dialect_impl(dialect)
    processor = type_.result_processor(dialect, None)
    return processor if processor is not None else (lambda value: value)


_RANGE_NAMES = ("team_id", "platform", "metric", "first", "last")


def stored_daily_ranges(
    session: Session, *, team_id: str, ranges: Iterable[DailyRange]
) -> Iterator[DailyValue]:
    """The stored values of each (platform, metric) from its first to its last day: one
    indexed range read per pair, so that a file of 200,000 values is compared with what
    is stored in a few statements rather than one SELECT per value."""
    connection = session.connection()
    dialect = connection.dialect
    table = _KPI_DAILY.c
    statement = _DriverStatement.compile(
        sqlalchemy.select(table.day, table.value).where(
            table.team_id == sqlalchemy.bindparam("team_id"),
            table.platform == sqlalchemy.bindparam("platform"),
            table.metric == sqlalchemy.bindparam("metric"),
            table.day.between(sqlalchemy.bindparam("first"), sqlalchemy.bindparam("last")),
        ),
        dialect,
        _RANGE_NAMES,
    )
    to_driver, from_driver = _bind(dialect, "day"), _result(dialect, "day")
    team = _bind(dialect, "team_id")(team_id)
    days: dict[Any, date] = {}  # a few thousand days at most, each converted once
    for platform, metric, first, last in ranges:
        result = connection.exec_driver_sql(
            statement.sql,
            statement.parameters((team, platform, metric, to_driver(first), to_driver(last))),
        )
        while chunk := result.fetchmany(_READ_CHUNK):
            for stored, value in chunk:
                day = days.get(stored)
                if day is None:
                    day = days[stored] = from_driver(stored)
                yield platform, day, metric, value


_UPSERT_NAMES = ("team_id", "platform", "day", "metric", "value", "updated_at", "source")


def _on_conflict_update(statement: Any) -> Insert:
    """… ON CONFLICT (the natural key) DO UPDATE the value and its time, where it differs."""
    excluded = statement.excluded
    updated: Insert = statement.on_conflict_do_update(
        index_elements=["team_id", "platform", "metric", "day"],
        set_={
            "value": excluded.value,
            "updated_at": excluded.updated_at,
            "source": excluded.source,
        },
        where=_KPI_DAILY.c.value.is_distinct_from(excluded.value),
    )
    return updated


def _sqlite_upsert() -> Insert:
    """One row's INSERT … ON CONFLICT, for an executemany of all of them."""
    parameters: dict[str, Any] = {name: sqlalchemy.bindparam(name) for name in _UPSERT_NAMES}
    return _on_conflict_update(dialect_insert(_KPI_DAILY, "sqlite").values(parameters))


def _postgresql_upsert(team_id: str, now: datetime, source: str) -> Insert:
    """The whole batch in one INSERT … SELECT FROM unnest(arrays) … ON CONFLICT: one
    statement and four array parameters, where an executemany is one execution per row
    on the server (200,000 lines took 23 s so, 5 s this way)."""
    from sqlalchemy.dialects import postgresql

    columns = _KPI_DAILY.c
    # Text arrays without the columns' length: a cast to VARCHAR(32)[] would cut a longer
    # name short without a word, where the insert refuses it.
    arrays = (
        sqlalchemy.func.unnest(
            sqlalchemy.bindparam("platforms", type_=postgresql.ARRAY(sqlalchemy.String())),
            sqlalchemy.bindparam("days", type_=postgresql.ARRAY(columns.day.type)),
            sqlalchemy.bindparam("metrics", type_=postgresql.ARRAY(sqlalchemy.String())),
            sqlalchemy.bindparam("values", type_=postgresql.ARRAY(columns.value.type)),
        )
        .table_valued("platform", "day", "metric", "value")
        .render_derived()
    )
    rows = sqlalchemy.select(
        sqlalchemy.literal(team_id, columns.team_id.type),
        arrays.c.platform,
        arrays.c.day,
        arrays.c.metric,
        arrays.c.value,
        sqlalchemy.literal(now, columns.updated_at.type),
        sqlalchemy.literal(source, columns.source.type),
    )
    upsert = dialect_insert(_KPI_DAILY, "postgresql").from_select(_UPSERT_NAMES, rows)
    return _on_conflict_update(upsert)


def upsert_daily_values(
    session: Session,
    *,
    team_id: str,
    rows: Sequence[DailyValue],
    now: datetime,
    source: str = MANUAL,
) -> None:
    """Store many days' values at once, all from one `source`; each replaces the stored
    value of its day, as `upsert_daily` does. The natural keys of `rows` must be distinct.

    It writes past the session's identity map: KpiDaily objects the session loaded
    before keep their old values until they are expired.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name == "postgresql":
        platforms, days, metrics, values = (list(column) for column in zip(*rows, strict=True))
        connection.execute(
            _postgresql_upsert(team_id, now, source),
            {"platforms": platforms, "days": days, "metrics": metrics, "values": values},
        )
        return
    if dialect.name != "sqlite":
        for platform, day, metric, value in rows:
            upsert_daily(
                session, team_id=team_id, platform=platform, day=day, metric=metric,
                value=value, now=now, source=source,
            )  # fmt: skip
        session.flush()
        return
    statement = _DriverStatement.compile(_sqlite_upsert(), dialect, _UPSERT_NAMES)
    team, stamp = _bind(dialect, "team_id")(team_id), _bind(dialect, "updated_at")(now)
    origin = _bind(dialect, "source")(source)
    to_day, to_value = _bind(dialect, "day"), _bind(dialect, "value")
    converted = {day: to_day(day) for day in {row[1] for row in rows}}  # a file has few days
    parameters = [
        (team, platform, converted[day], metric, to_value(value), stamp, origin)
        for platform, day, metric, value in rows
    ]
    connection.exec_driver_sql(statement.sql, statement.many(parameters))


def delete_daily(
    session: Session, *, team_id: str, platform: str, day: date, metric: str | None = None
) -> dict[str, float]:
    """Delete one day's values of a platform (one metric, or all of them) and return what
    was deleted, metric by metric, so that the reply can echo exactly what is gone.

    An empty result means nothing was stored, and nothing was deleted.
    """
    statement = select(KpiDaily).where(
        KpiDaily.team_id == team_id, KpiDaily.platform == platform, KpiDaily.day == day
    )
    if metric is not None:
        statement = statement.where(KpiDaily.metric == metric)
    rows = list(session.exec(statement.order_by(col(KpiDaily.metric))))
    deleted = {row.metric: row.value for row in rows}
    for row in rows:
        session.delete(row)
    session.flush()
    return deleted


def daily_values(
    session: Session, *, team_id: str, start: date, end: date, platform: str | None = None
) -> list[KpiDaily]:
    """Values of days in [start, end], ordered by platform, metric and day."""
    statement = select(KpiDaily).where(
        KpiDaily.team_id == team_id, KpiDaily.day >= start, KpiDaily.day <= end
    )
    if platform is not None:
        statement = statement.where(KpiDaily.platform == platform)
    order = (col(KpiDaily.platform), col(KpiDaily.metric), col(KpiDaily.day))
    return list(session.exec(statement.order_by(*order)))


def latest_before(
    session: Session, *, team_id: str, platform: str, metric: str, before: date
) -> KpiDaily | None:
    """The last value of a metric strictly before a day (a cumulative level's starting point)."""
    statement = (
        select(KpiDaily)
        .where(
            KpiDaily.team_id == team_id,
            KpiDaily.platform == platform,
            KpiDaily.metric == metric,
            KpiDaily.day < before,
        )
        .order_by(col(KpiDaily.day).desc())
        .limit(1)
    )
    return session.exec(statement).first()


def upsert_post_metric(
    session: Session, *, post_id: int, metric: str, value: float, now: datetime
) -> tuple[Upsert, float | None]:
    return _upsert(session, PostMetric, {"post_id": post_id, "metric": metric}, value, now)


def post_metrics(session: Session, *, post_ids: Iterable[int]) -> dict[int, dict[str, float]]:
    ids = list(post_ids)
    if not ids:
        return {}
    result: dict[int, dict[str, float]] = {}
    for row in session.exec(select(PostMetric).where(col(PostMetric.post_id).in_(ids))):
        result.setdefault(row.post_id, {})[row.metric] = row.value
    return result


# A published post's figure: (post id, platform, published at, metric, value).
PublishedFigure = tuple[int, str, datetime, str, float]


def published_figures(
    session: Session,
    *,
    team_id: str,
    start: datetime,
    end: datetime,
    metrics: Sequence[str],
) -> list[PublishedFigure]:
    """The figures of these metrics of the posts published in [start, end): one joined
    read of Core rows, so that a team with thousands of posts and no figures pays for
    none of them (the weekly summary's tiers read 90 days of posts every week)."""
    posts, figures = Post.__table__.c, PostMetric.__table__.c  # type: ignore[attr-defined]
    statement = (
        sqlalchemy.select(posts.id, posts.platform, posts.published_at, figures.metric,
                          figures.value)
        .join_from(Post.__table__, PostMetric.__table__, figures.post_id == posts.id)  # type: ignore[attr-defined]
        .where(
            posts.team_id == team_id,
            posts.status == "published",
            posts.published_at >= start,
            posts.published_at < end,
            figures.metric.in_(list(metrics)),
        )
    )  # fmt: skip
    return [
        (int(post_id), str(platform), published_at, str(metric), float(value))
        for post_id, platform, published_at, metric, value in session.connection().execute(
            statement
        )
    ]


def upsert_target(
    session: Session,
    *,
    team_id: str,
    platform: str,
    month: str,
    metric: str,
    value: float,
    now: datetime,
) -> tuple[Upsert, float | None]:
    key = {"team_id": team_id, "platform": platform, "month": month, "metric": metric}
    return _upsert(session, Target, key, value, now)


def targets_for_month(session: Session, *, team_id: str, month: str) -> list[Target]:
    statement = select(Target).where(Target.team_id == team_id, Target.month == month)
    return list(session.exec(statement.order_by(col(Target.platform), col(Target.metric))))
