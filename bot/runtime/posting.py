"""Putting what the bot posts on its own into the outbox: the one function for it.

The scheduler's runs, the CLI's `--post` and a command's notices (`Reply.notices`) all
post here, inside the transaction that decides to post, so a post goes out once and only
if that transaction stands.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from bot.chat import CONSOLE
from bot.core.config import Settings, TeamSettings
from bot.core.jobs import Outgoing, member_target
from bot.core.messages import Notice, reply_to_dict
from bot.runtime.settings import configured_platforms
from storage import outbox as outbox_store


def delivery_platforms(settings: Settings, team: TeamSettings) -> list[str]:
    """Where a team's posts go: each configured chat platform on which the team names a
    channel — never another team's (a WeCom robot configured for one team is not every
    team's) — or the console when the team has none."""
    enabled = [
        configured.name
        for configured in configured_platforms(settings)
        if team.channels.get(configured.name)
    ]
    return enabled or [CONSOLE]


def post(
    session: Session,
    settings: Settings,
    team: TeamSettings,
    *,
    job: str,
    period: str,
    outgoing: Sequence[Outgoing],
    now: datetime,
) -> None:
    """Put a job's posts into the outbox, one item per post and chat platform.

    The one way anything is posted on the bot's own: the scheduler's runs and the
    CLI's `--post` both come here, in the transaction that claims the run.
    """
    for item in outgoing:
        for platform in delivery_platforms(settings, team):
            outbox_store.enqueue(
                session, team_id=team.id, key=f"{team.id}:{job}:{period}:{platform}:{item.target}",
                platform=platform, target=item.target, kind=job,
                payload=reply_to_dict(item.reply), now=now,
            )  # fmt: skip


def post_notices(
    session: Session, settings: Settings, team: TeamSettings, notices: Sequence[Notice],
    *, now: datetime,
) -> None:  # fmt: skip
    """A command's direct messages, each once (a retried delivery of the command is
    already recognised before it runs, so a fresh key per notice is safe)."""
    if notices:
        post(
            session, settings, team, job="notice", period=uuid.uuid4().hex,
            outgoing=[Outgoing(member_target(n.member_id), n.reply) for n in notices], now=now,
        )  # fmt: skip
