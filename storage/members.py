"""Data access for team members."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Protocol

from sqlalchemy import bindparam, func
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from storage import identities, prepared
from storage.models import MEMBER_NAME_MAX_LENGTH, Member


def get_member(
    session: Session, *, team_id: str, member_id: str, include_removed: bool = True
) -> Member | None:
    """A member by exact id, or by id in another case (`@Bob` finds `bob`).

    Unlike the lookups features use, this one sees removed members unless told not to:
    it loads a speaker (who, if removed, must be told why they are refused, not be
    registered again) and checks that a handle is free (a removed member keeps theirs,
    since their history names them). `find_member` is the lookup for `@mentions`.
    """
    member = session.exec(_BY_ID, params={"team_id": team_id, "member_id": member_id}).first()
    if member is not None and (member.active or include_removed):
        return member
    statement = select(Member).where(
        Member.team_id == team_id, func.lower(Member.id) == member_id.lower()
    )
    if not include_removed:
        statement = statement.where(col(Member.active))
    return session.exec(statement).first()


# Built once: every command looks its speaker up, and `session.get` builds its query anew
# on each call when the member is not yet in the session (it never is: one per command).
_BY_ID = select(Member).where(
    Member.team_id == bindparam("team_id"), Member.id == bindparam("member_id")
)


def find_member(
    session: Session, *, team_id: str, handle: str, include_removed: bool = False
) -> Member | None:
    """Resolve what a user typed after `@`: a member id first, then a display name.

    Active members only unless `include_removed` (`/team add` brings a removed one back).
    """
    member = get_member(session, team_id=team_id, member_id=handle, include_removed=include_removed)
    if member is not None:
        return member
    statement = select(Member).where(
        Member.team_id == team_id, func.lower(Member.name) == handle.lower()
    )
    if not include_removed:
        statement = statement.where(col(Member.active))
    return session.exec(statement).first()


class MemberLine(Protocol):
    """What a listing reads of a member: a `Member`, or a row of `list_members`."""

    @property
    def team_id(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def away_from(self) -> date | None: ...
    @property
    def away_to(self) -> date | None: ...
    @property
    def active(self) -> bool: ...
    @property
    def created_at(self) -> datetime: ...


def list_members(
    session: Session, *, team_id: str, include_removed: bool = False
) -> Sequence[MemberLine]:
    """The team's members in the order they joined; removed ones only when asked, so
    that prompts, reminders and counts never reach someone who left.

    Rows, not ORM objects: every team's digest, prompt and reminder reads them, and
    none changes them (a change loads the member itself)."""
    statement = _MEMBERS if include_removed else _ACTIVE_MEMBERS
    return prepared.rows(session, statement, {"team_id": team_id})


def member_names(session: Session, *, team_id: str) -> dict[str, str]:
    """member id → display name, removed members included: for showing history (a post,
    task or stand-up of someone who left still names them), never for choosing whom to
    prompt or count — that is `list_members`."""
    rows = prepared.rows(session, _NAMES, {"team_id": team_id})
    return {member_id: name for member_id, name in rows}


# Built once: every command and every team's digest reads these.
_TABLE = Member.__table__  # type: ignore[attr-defined]
_MEMBERS = (
    core_select(*_TABLE.c)
    .where(_TABLE.c.team_id == bindparam("team_id"))
    .order_by(_TABLE.c.created_at, _TABLE.c.id)
)
_ACTIVE_MEMBERS = _MEMBERS.where(_TABLE.c.active)
_NAMES = core_select(_TABLE.c.id, _TABLE.c.name).where(_TABLE.c.team_id == bindparam("team_id"))


def count_admins(session: Session, *, team_id: str) -> int:
    """Active admins: a removed admin manages nothing, so they do not keep a team safe."""
    statement = select(func.count()).where(
        Member.team_id == team_id, Member.role == "admin", col(Member.active)
    )
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
    """A new member, with their ids on chat platforms (`{"slack": "U01"}`).

    A name longer than its column (a chat platform's profile may hold more) is cut to
    fit rather than refused: it is only shown, and PostgreSQL would otherwise fail the
    newcomer's first command while SQLite kept the name whole.
    """
    member = Member(
        team_id=team_id, id=member_id, name=name[:MEMBER_NAME_MAX_LENGTH], role=role,
        created_at=now,
    )  # fmt: skip
    session.add(member)
    session.flush()
    for platform, external_id in (identities_by_platform or {}).items():
        identities.add(
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
    configured = list(configured)
    if not configured:  # a team whose members all joined through chat: nothing to read
        return
    linked = identities.identities_of_team(session, team_id=team_id)
    for member_id, name, role, identities_by_platform in configured:
        # A removed member stays removed on restart: config only adds the ones never seen.
        member = get_member(session, team_id=team_id, member_id=member_id, include_removed=True)
        if member is None:
            member = add_member(
                session, team_id=team_id, member_id=member_id, name=name, role=role, now=now
            )
        for platform, external_id in identities_by_platform.items():
            if linked.get(member.id, {}).get(platform) != external_id:
                identities.link(
                    session, team_id=team_id, member_id=member.id, platform=platform,
                    external_id=external_id, now=now,
                )  # fmt: skip
