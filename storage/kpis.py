"""Data access for KPIs: daily values, per-post metrics and monthly targets.

Writes are upserts keyed on the natural key (team, platform, metric, day …), which is
what makes logging a day twice a correction and importing a file twice a no-op.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select

from storage.models import KpiDaily, PostMetric, Target


class Upsert(StrEnum):
    INSERTED = "inserted"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


def _same(a: float, b: float) -> bool:
    return abs(a - b) < 1e-9


ValueRow = KpiDaily | PostMetric | Target


def _upsert(
    session: Session, model: type[ValueRow], key: Mapping[str, Any], value: float, now: datetime
) -> tuple[Upsert, float | None]:
    """Set the `value` of the row with this natural key; returns what happened and the
    value it replaced, if any."""
    statement = select(model)
    for column, wanted in key.items():
        statement = statement.where(getattr(model, column) == wanted)
    row: ValueRow | None = session.exec(statement).first()  # type: ignore[assignment]
    if row is None:
        session.add(model(**key, value=value, updated_at=now))
        return Upsert.INSERTED, None
    if _same(row.value, value):
        return Upsert.UNCHANGED, row.value
    previous = row.value
    row.value, row.updated_at = value, now
    return Upsert.UPDATED, previous


def upsert_daily(
    session: Session,
    *,
    team_id: str,
    platform: str,
    day: date,
    metric: str,
    value: float,
    now: datetime,
) -> tuple[Upsert, float | None]:
    """Store a day's value: a second value for the same day replaces the first."""
    key = {"team_id": team_id, "platform": platform, "metric": metric, "day": day}
    return _upsert(session, KpiDaily, key, value, now)


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
