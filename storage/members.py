"""Data access for team members."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import bindparam, func
from sqlmodel import Session, col, select

from storage.models import Member

PLATFORM_ID_COLUMNS = ("slack", "feishu", "wecom")


def get_member(session: Session, *, team_id: str, member_id: str) -> Member | None:
    """A member by exact id, or by id in another case (`@Bob` finds `bob`)."""
    member = session.get(Member, (team_id, member_id))
    if member is not None:
        return member
    statement = select(Member).where(
        Member.team_id == team_id, func.lower(Member.id) == member_id.lower()
    )
    return session.exec(statement).first()


def find_member(session: Session, *, team_id: str, handle: str) -> Member | None:
    """Resolve what a user typed after `@`: a member id first, then a display name."""
    member = get_member(session, team_id=team_id, member_id=handle)
    if member is not None:
        return member
    statement = select(Member).where(
        Member.team_id == team_id, func.lower(Member.name) == handle.lower()
    )
    return session.exec(statement).first()


def find_member_by_platform_id(
    session: Session, *, team_id: str, platform: str, platform_user_id: str
) -> Member | None:
    """The member with this Slack / Feishu / WeCom user id (every platform command asks)."""
    if platform not in PLATFORM_ID_COLUMNS:
        raise ValueError(f"no member column for platform {platform!r}")
    parameters = {"team_id": team_id, "platform_user_id": platform_user_id}
    return session.exec(_BY_PLATFORM_ID[platform], params=parameters).first()


# Built once: on the path of every command, where building a statement costs more than
# running it on SQLite.
_BY_PLATFORM_ID = {
    platform: select(Member).where(
        Member.team_id == bindparam("team_id"),
        getattr(Member, platform) == bindparam("platform_user_id"),
    )
    for platform in PLATFORM_ID_COLUMNS
}


def list_members(session: Session, *, team_id: str) -> list[Member]:
    statement = (
        select(Member)
        .where(Member.team_id == team_id)
        .order_by(col(Member.created_at), col(Member.id))
    )
    return list(session.exec(statement))


def count_admins(session: Session, *, team_id: str) -> int:
    statement = select(func.count()).where(Member.team_id == team_id, Member.role == "admin")
    return session.exec(statement).one()


def add_member(
    session: Session,
    *,
    team_id: str,
    member_id: str,
    name: str,
    role: str,
    now: datetime,
    platform_ids: dict[str, str | None] | None = None,
) -> Member:
    member = Member(
        team_id=team_id,
        id=member_id,
        name=name,
        role=role,
        created_at=now,
        **(platform_ids or {}),
    )
    session.add(member)
    session.flush()
    return member


def sync_configured_members(
    session: Session,
    *,
    team_id: str,
    configured: Iterable[tuple[str, str, str, dict[str, str | None]]],
    now: datetime,
) -> None:
    """Add the members listed in config that the database does not have yet.

    Config seeds the team; roles changed later in chat (`/team role`) are kept, while
    platform ids follow the config so a corrected Slack id takes effect on restart.
    """
    for member_id, name, role, platform_ids in configured:
        member = get_member(session, team_id=team_id, member_id=member_id)
        if member is None:
            add_member(
                session,
                team_id=team_id,
                member_id=member_id,
                name=name,
                role=role,
                now=now,
                platform_ids=platform_ids,
            )
            continue
        for column, value in platform_ids.items():
            if value is not None:
                setattr(member, column, value)
