"""Loading the record a command names by its id (`/topic vote 3`, `/task done #12`)."""

from __future__ import annotations

from typing import TypeVar

from bot.core.commands import Context
from bot.core.errors import CommandError
from bot.vocab.arguments import parse_id
from storage.team_rows import get_in_team

Row = TypeVar("Row")


def load_record(ctx: Context, model: type[Row], word: str | None, *, not_found: str) -> Row:
    """The team's record with the id in `word`; a missing, malformed or unknown id is refused."""
    row_id = parse_id(word)
    row = get_in_team(ctx.session, model, team_id=ctx.team.id, row_id=row_id)
    if row is None:
        raise CommandError(not_found, id=row_id)
    return row
