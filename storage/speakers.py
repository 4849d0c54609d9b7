"""The member who speaks, read once per command without the ORM.

Every command reads its speaker, and loading a `Member` through the ORM cost more than
the rest of a small command's reads. Handlers read the speaker (`Speaker` in the core);
one that changes a member loads it as a `Member` (`members.get_member`) and changes that.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, bindparam
from sqlalchemy import select as core_select
from sqlmodel import Session

from storage import members as member_store
from storage import prepared
from storage.models import Identity, Member


@dataclass
class MemberRecord:
    """A member as read for a command: the fields of `Member`, detached from storage."""

    team_id: str
    id: str
    name: str
    role: str
    away_from: date | None
    away_to: date | None
    active: bool
    created_at: datetime


def speaker_by_id(session: Session, *, team_id: str, member_id: str) -> MemberRecord | None:
    """The member with this handle, removed ones included (they must be told why they
    are refused); in another case (`--as Bob` is `bob`) through `get_member`."""
    found = prepared.first(session, _BY_ID, {"team_id": team_id, "member_id": member_id})
    if found is not None:
        return _record(found)
    member = member_store.get_member(session, team_id=team_id, member_id=member_id)
    return None if member is None else _record(member)


def speaker_by_identity(
    session: Session, *, team_id: str, platform: str, external_id: str
) -> MemberRecord | None:
    """The member with this id on this chat platform."""
    parameters = {"team_id": team_id, "platform": platform, "external_id": external_id}
    found = prepared.first(session, _BY_IDENTITY, parameters)
    return None if found is None else _record(found)


def memberships_of_identity(
    session: Session, *, platform: str, external_id: str
) -> list[MemberRecord]:
    """The member this chat platform id is in each team (removed members included), by
    team id: a command from a DM or another channel than a team's finds its team and
    its speaker in one read."""
    parameters = {"platform": platform, "external_id": external_id}
    return [_record(row) for row in prepared.rows(session, _MEMBERSHIPS, parameters)]


def _record(found: Row[Any] | Member) -> MemberRecord:
    return MemberRecord(
        team_id=found.team_id, id=found.id, name=found.name, role=found.role,
        away_from=found.away_from, away_to=found.away_to, active=found.active,
        created_at=found.created_at,
    )  # fmt: skip


_MEMBERS = Member.__table__  # type: ignore[attr-defined]
_IDENTITIES = Identity.__table__  # type: ignore[attr-defined]
# Built once: on the path of every command.
_BY_ID = core_select(_MEMBERS).where(
    _MEMBERS.c.team_id == bindparam("team_id"), _MEMBERS.c.id == bindparam("member_id")
)
# A member with their id on a platform: in every team (a DM finds its team so), or in one.
_WITH_IDENTITY = core_select(_MEMBERS).join(
    _IDENTITIES,
    (_IDENTITIES.c.team_id == _MEMBERS.c.team_id) & (_IDENTITIES.c.member_id == _MEMBERS.c.id),
)
_BY_PLATFORM_ID = (
    _IDENTITIES.c.platform == bindparam("platform"),
    _IDENTITIES.c.external_id == bindparam("external_id"),
)
_MEMBERSHIPS = _WITH_IDENTITY.where(*_BY_PLATFORM_ID).order_by(_IDENTITIES.c.team_id)
_BY_IDENTITY = _WITH_IDENTITY.where(_IDENTITIES.c.team_id == bindparam("team_id"), *_BY_PLATFORM_ID)
