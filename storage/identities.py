"""Who a member is on each chat platform: the `identities` table.

Storage names no chat platform: `platform` is whatever name the chat plug-in has.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete
from sqlmodel import Session, col, select

from storage.models import Identity, Member


def member_by_identity(
    session: Session, *, team_id: str, platform: str, external_id: str
) -> Member | None:
    """The member with this id on this chat platform (every chat command asks this)."""
    parameters = {"team_id": team_id, "platform": platform, "external_id": external_id}
    return session.exec(_MEMBER_BY_IDENTITY, params=parameters).first()


# Built once: on the path of every command, where building a statement costs more than
# running it on SQLite.
_MEMBER_BY_IDENTITY = (
    select(Member)
    .join(
        Identity,
        (col(Identity.team_id) == col(Member.team_id))
        & (col(Identity.member_id) == col(Member.id)),
    )
    .where(
        Identity.team_id == bindparam("team_id"),
        Identity.platform == bindparam("platform"),
        Identity.external_id == bindparam("external_id"),
    )
)


def external_id(session: Session, *, team_id: str, member_id: str, platform: str) -> str | None:
    """The member's id on a chat platform, for a direct message; None if they have none."""
    statement = select(Identity.external_id).where(
        Identity.team_id == team_id, Identity.member_id == member_id, Identity.platform == platform
    )
    return session.exec(statement).first()


def identities_of_team(session: Session, *, team_id: str) -> dict[str, dict[str, str]]:
    """member id → {platform: external id}, for the export and `/team list`."""
    statement = select(Identity).where(Identity.team_id == team_id)
    found: dict[str, dict[str, str]] = {}
    for identity in session.exec(statement):
        found.setdefault(identity.member_id, {})[identity.platform] = identity.external_id
    return found


def link(
    session: Session,
    *,
    team_id: str,
    member_id: str,
    platform: str,
    external_id: str,
    now: datetime,
) -> None:
    """Make `external_id` the member's id on `platform` (replacing an earlier one).

    An id that belonged to another member of the team moves to this one: the config is
    the truth about who is who (a corrected Slack id takes effect on restart).
    """
    session.exec(
        delete(Identity).where(
            col(Identity.team_id) == team_id,
            col(Identity.platform) == platform,
            (col(Identity.member_id) == member_id) | (col(Identity.external_id) == external_id),
        )
    )
    session.add(
        Identity(
            team_id=team_id,
            platform=platform,
            external_id=external_id,
            member_id=member_id,
            created_at=now,
        )
    )
    session.flush()


def add(
    session: Session, *, team_id: str, member_id: str, platform: str, external_id: str,
    now: datetime,
) -> None:  # fmt: skip
    """A newcomer's id: a plain insert, so that a second registration of the same id
    (another first command at the same moment) fails on the key instead of taking it."""
    session.add(
        Identity(
            team_id=team_id,
            platform=platform,
            external_id=external_id,
            member_id=member_id,
            created_at=now,
        )
    )
    session.flush()


def all_identities(session: Session) -> list[Identity]:
    statement = select(Identity).order_by(
        col(Identity.team_id), col(Identity.member_id), col(Identity.platform)
    )
    return list(session.exec(statement))
