"""Data access for team members."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage import identities
from storage.models import Member


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
    identities_by_platform: dict[str, str] | None = None,
) -> Member:
    """A new member, with their ids on chat platforms (`{"slack": "U01"}`)."""
    member = Member(team_id=team_id, id=member_id, name=name, role=role, created_at=now)
    session.add(member)
    session.flush()
    for platform, external_id in (identities_by_platform or {}).items():
        identities.link(
            session, team_id=team_id, member_id=member_id, platform=platform,
            external_id=external_id, now=now,
        )  # fmt: skip
    return member


def sync_configured_members(
    session: Session,
    *,
    team_id: str,
    configured: Iterable[tuple[str, str, str, dict[str, str]]],
    now: datetime,
) -> None:
    """Add the members listed in config that the database does not have yet.

    Config seeds the team; roles changed later in chat (`/team role`) are kept, while
    chat platform ids follow the config so a corrected Slack id takes effect on restart.
    """
    linked = identities.identities_of_team(session, team_id=team_id)
    for member_id, name, role, identities_by_platform in configured:
        member = get_member(session, team_id=team_id, member_id=member_id)
        if member is None:
            add_member(
                session,
                team_id=team_id,
                member_id=member_id,
                name=name,
                role=role,
                now=now,
                identities_by_platform=identities_by_platform,
            )
            continue
        for platform, external_id in identities_by_platform.items():
            if linked.get(member.id, {}).get(platform) != external_id:
                identities.link(
                    session, team_id=team_id, member_id=member.id, platform=platform,
                    external_id=external_id, now=now,
                )  # fmt: skip
