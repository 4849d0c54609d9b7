"""Data access for the marketing calendar: a team's own and hidden dates, the topics and
posts that name a date, and the secret token of the team's calendar feed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Protocol, cast

from sqlalchemy import bindparam, func, literal, or_
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from storage import prepared
from storage.models import CalendarDate, CalendarFeed, Topic
from storage.topics import has_tag

OWN, HIDDEN = "own", "hidden"


def add_date(session: Session, row: CalendarDate) -> CalendarDate:
    session.add(row)
    session.flush()
    return row


class OwnDate(Protocol):
    """What the calendar reads of a team's own date: a `CalendarDate`, or a row of
    `team_dates`."""

    @property
    def id(self) -> int | None: ...
    @property
    def name(self) -> str: ...
    @property
    def day(self) -> date | None: ...


def team_dates(
    session: Session, *, team_id: str, start: date, end: date
) -> tuple[set[str], list[OwnDate]]:
    """The (Chinese) names of the built-in dates the team hid, and its own dates in
    [start, end] in date order: one statement, since every team's digest asks for both."""
    params = {"team_id": team_id, "start": start, "end": end}
    hidden: set[str] = set()
    own: list[OwnDate] = []
    for row in prepared.rows(session, _TEAM_DATES, params):
        if row.kind == HIDDEN:
            hidden.add(row.name)
        else:
            own.append(row)
    return hidden, own


_DATES = CalendarDate.__table__  # type: ignore[attr-defined]
# Built once: the digest reads it every morning, /calendar on every call.
_TEAM_DATES = (
    core_select(_DATES.c.id, _DATES.c.kind, _DATES.c.name, _DATES.c.day)
    .where(
        _DATES.c.team_id == bindparam("team_id"),
        or_(
            _DATES.c.kind == HIDDEN,
            (_DATES.c.kind == OWN)
            & (_DATES.c.day >= bindparam("start"))
            & (_DATES.c.day <= bindparam("end")),
        ),
    )
    .order_by(_DATES.c.day, _DATES.c.id)
)


def own_dates_named(session: Session, *, team_id: str, name: str) -> list[CalendarDate]:
    """The team's own dates with this name (in any case), soonest first."""
    statement = select(CalendarDate).where(
        CalendarDate.team_id == team_id,
        CalendarDate.kind == OWN,
        func.lower(col(CalendarDate.name)) == name.lower(),
    )
    return list(session.exec(statement.order_by(col(CalendarDate.day), col(CalendarDate.id))))


def hidden_row(session: Session, *, team_id: str, name: str) -> CalendarDate | None:
    statement = select(CalendarDate).where(
        CalendarDate.team_id == team_id, CalendarDate.kind == HIDDEN, CalendarDate.name == name
    )
    return session.exec(statement.limit(1)).first()


def _escaped(word: str) -> str:
    """A word for LIKE, its own `%` and `_` taken literally."""
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class NamedTopic(Protocol):
    """What the calendar reads of a topic: a `Topic`, or a row of `topics_naming`."""

    @property
    def id(self) -> int | None: ...
    @property
    def title(self) -> str: ...
    @property
    def tags(self) -> list[str]: ...
    @property
    def status(self) -> str: ...


def topics_naming(
    session: Session, *, team_id: str, names: Iterable[str], statuses: Iterable[str], limit: int
) -> Sequence[NamedTopic]:
    """Topics in these statuses whose title contains one of the names (in any case) or
    that carry one as a tag, oldest first: what a marketing date's topics are. Rows:
    every team's digest reads them, and through the ORM that cost twice the read."""
    wanted = tuple(name for name in dict.fromkeys(names) if name)
    if not wanted:
        return []
    dialect = session.get_bind().dialect.name
    statement = _naming_statement(dialect, wanted, tuple(statuses), limit)
    rows = prepared.rows(session, statement, {"team_id": team_id})
    return cast(Sequence[NamedTopic], rows)  # a Row has its columns as attributes


@lru_cache(maxsize=64)
def _naming_statement(
    dialect: str, names: tuple[str, ...], statuses: tuple[str, ...], limit: int
) -> Any:
    """Built once per set of names (every team's digest of a day asks the same ones), for
    any team: building this OR of LIKEs and tag tests anew cost more than running it."""
    topics = Topic.__table__  # type: ignore[attr-defined]
    matches = [
        func.lower(topics.c.title).like(f"%{_escaped(name.lower())}%", escape="\\")
        for name in names
    ] + [has_tag(dialect, topics.c.tags, name) for name in names]
    return (
        core_select(*(topics.c[name] for name in _NAMED_COLUMNS))
        .where(
            topics.c.team_id == bindparam("team_id"),
            topics.c.status.in_([literal(status) for status in statuses]),
            or_(*matches),
        )
        .order_by(topics.c.id)
        .limit(limit)
    )


_NAMED_COLUMNS = ("id", "title", "tags", "status")


def topics_by_id(session: Session, *, team_id: str, ids: Iterable[int]) -> dict[int, NamedTopic]:
    """The team's topics among `ids` (rows, as `topics_naming`'s)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    parameters = {"team_id": team_id, "ids": wanted}
    rows = session.connection().execute(_BY_IDS, parameters)
    return {row.id: cast(NamedTopic, row) for row in rows}


_TOPICS = Topic.__table__  # type: ignore[attr-defined]
_BY_IDS = core_select(*(_TOPICS.c[name] for name in _NAMED_COLUMNS)).where(
    _TOPICS.c.team_id == bindparam("team_id"),
    _TOPICS.c.id.in_(bindparam("ids", expanding=True)),
)


def feed_token(session: Session, *, team_id: str) -> str | None:
    """The team's feed token, or None when none was made yet (no feed is served)."""
    row = session.get(CalendarFeed, team_id)
    return row.token if row is not None else None


def set_feed_token(session: Session, *, team_id: str, token: str, now: datetime) -> str:
    """Store (or replace) the team's feed token."""
    row = session.get(CalendarFeed, team_id)
    if row is None:
        session.add(CalendarFeed(team_id=team_id, token=token, created_at=now))
    else:
        row.token, row.created_at = token, now
    session.flush()
    return token
