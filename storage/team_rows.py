"""Looking up a row by id within one team, for every table that has `id` and `team_id`."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlmodel import Session

Row = TypeVar("Row")


def get_in_team(session: Session, model: type[Row], *, team_id: str, row_id: int) -> Row | None:
    """The row with this id, or None when it does not exist or belongs to another team."""
    row: Any = session.get(model, row_id)
    if row is None or row.team_id != team_id:
        return None
    found: Row = row
    return found
