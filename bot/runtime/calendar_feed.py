"""The calendar feed's token and how the feed is served (`GET /calendar/<team>.ics`),
for `opsbot run` and `opsbot calendar`.

The config has no server secret to derive a token from, so each team has a random one,
stored in `calendar_feeds` (made by `opsbot calendar token`, replaced with `--rotate`).
A request with a wrong or missing token, for a team without a token or for no such
team, gets the same 404, after the same constant-time comparison: the answer does not
tell whether the team exists. The token is never logged (uvicorn's access log is off,
and `bot/runtime/logs.py` masks `?token=` in any line).
"""

from __future__ import annotations

import hmac
import secrets

from bot.core.config import TeamSettings
from bot.runtime.app import OpsBot
from handlers.calendar_feed import build_feed
from storage import calendar as calendar_store
from storage.db import snapshot, transaction

TOKEN_BYTES = 24  # 32 URL-safe characters
_NO_TOKEN = secrets.token_urlsafe(TOKEN_BYTES)  # compared against when there is none


def team_token(bot: OpsBot, team: TeamSettings, *, rotate: bool = False) -> str:
    """The team's feed token, made on first use (or replaced, with `rotate`)."""
    with transaction(bot.engine) as session:
        token = None if rotate else calendar_store.feed_token(session, team_id=team.id)
        if token is None:
            token = calendar_store.set_feed_token(
                session, team_id=team.id, token=secrets.token_urlsafe(TOKEN_BYTES),
                now=bot.clock.now(),
            )  # fmt: skip
        return token


def feed(bot: OpsBot, team: TeamSettings) -> tuple[bytes, int, int]:
    """The team's feed (bytes, posts, dates), read from one snapshot."""
    with snapshot(bot.engine) as session:
        return build_feed(bot.system_context(session, team))


def served_feed(bot: OpsBot, team_id: str, token: str) -> bytes | None:
    """The feed for a request, or None for a wrong token, a team without one or no team."""
    team = next((team for team in bot.settings.teams if team.id == team_id), None)
    with snapshot(bot.engine) as session:
        stored = calendar_store.feed_token(session, team_id=team.id) if team else None
        matches = hmac.compare_digest(
            (stored or _NO_TOKEN).encode("utf-8"), token.encode("utf-8", "replace")
        )
        if team is None or stored is None or not matches:
            return None
        body, _, _ = build_feed(bot.system_context(session, team))
        return body
