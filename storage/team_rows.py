"""Looking up a row by id within one team, for every table that has `id` and `team_id`."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, TypeVar, cast

from sqlalchemy import bindparam
from sqlmodel import Session, select

Row = TypeVar("Row")


def get_in_team(session: Session, model: type[Row], *, team_id: str, row_id: int) -> Row | None:
    """The row with this id, or None when it does not exist or belongs to another team."""
    statement = _by_id(cast(Any, model))
    found: Any = session.exec(statement, params={"team_id": team_id, "row_id": row_id})
    row: Row | None = found.first()
    return row


@lru_cache(maxsize=32)
def _by_id(model: Any) -> Any:
    """Built once per model: most commands that name a record load it, and `session.get`
    builds its query anew each time the row is not in the session yet (it never is)."""
    return select(model).where(
        model.team_id == bindparam("team_id"), model.id == bindparam("row_id")
    )
