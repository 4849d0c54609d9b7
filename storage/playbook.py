"""Data access for the team's playbook (《运营手册》): lessons, found by tag and by words."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, or_
from sqlmodel import Session, col, select

from storage.models import Lesson
from storage.topics import has_tag


def add_lesson(session: Session, lesson: Lesson) -> Lesson:
    session.add(lesson)
    session.flush()
    return lesson


def _escaped(word: str) -> str:
    """A word for LIKE, its own `%` and `_` taken literally."""
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def find_lessons(
    session: Session,
    *,
    team_id: str,
    tags: Iterable[str] = (),
    words: Iterable[str] = (),
    limit: int,
) -> tuple[list[Lesson], int]:
    """The newest lessons with every tag and every word (in any case), and how many
    there are in all."""
    dialect = session.get_bind().dialect.name
    conditions = [col(Lesson.team_id) == team_id]
    conditions += [_tag_is(dialect, tag) for tag in tags]
    for word in words:  # in the text, or in a tag (`冬至` finds `#冬至`), in any case
        pattern = f"%{_escaped(word.lower())}%"
        conditions.append(
            or_(
                func.lower(col(Lesson.text)).like(pattern, escape="\\"),
                _tag_matching(dialect, pattern),
            )
        )
    total = session.exec(select(func.count()).select_from(Lesson).where(*conditions)).one()
    statement = select(Lesson).where(*conditions)
    newest = (col(Lesson.created_at).desc(), col(Lesson.id).desc())
    return list(session.exec(statement.order_by(*newest).limit(limit))), int(total)


def _tags(dialect: str) -> Any:
    if dialect == "postgresql":
        return func.json_array_elements_text(col(Lesson.tags)).table_valued("value")
    return func.json_each(col(Lesson.tags)).table_valued("value")


def _tag_is(dialect: str, tag: str) -> Any:
    """One of the lesson's tags is `tag`, in any case (`#A` finds `#a`)."""
    elements = _tags(dialect)
    return exists().where(func.lower(elements.c.value) == tag.lower())


def _tag_matching(dialect: str, pattern: str) -> Any:
    elements = _tags(dialect)
    return exists().where(func.lower(elements.c.value).like(pattern, escape="\\"))


def lessons_tagged_any(
    session: Session, *, team_id: str, tags: Iterable[str], limit: int
) -> list[Lesson]:
    """The newest lessons with at least one of these tags (what the digest surfaces)."""
    wanted = list(dict.fromkeys(tags))
    if not wanted:
        return []
    dialect = session.get_bind().dialect.name
    statement = select(Lesson).where(
        col(Lesson.team_id) == team_id,
        or_(*(has_tag(dialect, col(Lesson.tags), tag) for tag in wanted)),
    )
    newest = (col(Lesson.created_at).desc(), col(Lesson.id).desc())
    return list(session.exec(statement.order_by(*newest).limit(limit)))


def lessons_between(
    session: Session, *, team_id: str, start: datetime, end: datetime
) -> list[Lesson]:
    """Lessons recorded in [start, end), oldest first (a month's, for its review)."""
    statement = select(Lesson).where(
        col(Lesson.team_id) == team_id,
        col(Lesson.created_at) >= start,
        col(Lesson.created_at) < end,
    )
    return list(session.exec(statement.order_by(col(Lesson.created_at), col(Lesson.id))))
