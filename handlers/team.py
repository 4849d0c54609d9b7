"""`/team` (`/团队`): who is in the team and what each may do."""

from __future__ import annotations

import re

from bot.core.commands import CommandFamily, Context, Speaker
from bot.core.errors import CommandError
from bot.core.messages import Reply, Section, Tone
from bot.vocab.arguments import parse_mention
from bot.vocab.when import parse_date
from storage import members as member_store
from storage.models import Member

family = CommandFamily("team", aliases=("团队",))

MEMBER_ID = re.compile(r"^[\w.\-]{1,64}$")
_ROLE_WORDS = {
    "admin": "admin", "管理员": "admin",
    "editor": "editor", "编辑": "editor", "reviewer": "editor", "审核": "editor",
    "member": "member", "成员": "member",
}  # fmt: skip


def parse_role(word: str) -> str:
    value = word.split("=", 1)[1] if "=" in word else word
    role = _ROLE_WORDS.get(value.casefold())
    if role is None:
        raise CommandError("team.error.bad_role", value=value[:20])
    return role


def _require_admin(ctx: Context) -> None:
    if ctx.member.role != "admin":
        raise CommandError("errors.admins_only", show_usage=False)


def _mentioned(ctx: Context, args: list[str]) -> str:
    handle = parse_mention(args[0]) if args else None
    if handle is None:
        raise CommandError("errors.missing_member")
    return handle


SELF_HANDLES = {"me", "我", "自己"}
CLEAR_WORDS = {"off", "none", "clear", "取消", "无"}


def _known(ctx: Context) -> str:
    """The active members' handles, for a refusal to show whom a command could name."""
    return ", ".join(m.id for m in member_store.list_members(ctx.session, team_id=ctx.team.id))


def _stored(ctx: Context, member: Speaker) -> Member:
    """The member to change, as stored: the speaker is read without the ORM (see
    `storage.speakers`), a mentioned member is loaded through it."""
    if isinstance(member, Member):
        return member
    stored = member_store.get_member(ctx.session, team_id=ctx.team.id, member_id=member.id)
    assert stored is not None  # the speaker was read in this transaction
    return stored


def resolve_member(ctx: Context, handle: str) -> Speaker:
    """The active member a `@handle` names (`@me` is the speaker), or a refusal naming the
    team. A removed member is refused as such, so that nobody who left is given a task or
    a review, and the speaker learns why rather than seeing a familiar name "unknown"."""
    if handle.casefold() in SELF_HANDLES:
        return ctx.member
    member = member_store.find_member(ctx.session, team_id=ctx.team.id, handle=handle)
    if member is not None:
        return member
    removed = member_store.find_member(
        ctx.session, team_id=ctx.team.id, handle=handle, include_removed=True
    )
    if removed is not None:
        raise CommandError("errors.removed_member", name=removed.id, known=_known(ctx))
    raise CommandError("errors.unknown_member", name=handle[:40], known=_known(ctx))


def _role(ctx: Context, role: str) -> str:
    return ctx.t(f"role.{role}")


@family.subcommand("list", "列表", "ls", reads_only=True)
def list_team(ctx: Context, args: list[str]) -> Reply:
    """Who is in the team now; removed members only as a closing line, so that the
    handles they keep in the history are not a mystery."""
    everyone = member_store.list_members(ctx.session, team_id=ctx.team.id, include_removed=True)
    members = [member for member in everyone if member.active]
    removed = [member for member in everyone if not member.active]
    rows: list[tuple[str, ...]] = []
    for member in members:
        away = ""
        if member.away_from and member.away_to:
            away = ctx.t(
                "team.away_range",
                start=member.away_from.isoformat(),
                end=member.away_to.isoformat(),
            )
        rows.append((f"@{member.id}", member.name, _role(ctx, member.role), away))
    sections = [Section(rows=rows)]
    if removed:
        names = ", ".join(f"@{member.id}" for member in removed)
        sections.append(
            Section(lines=[ctx.t("team.removed_list", count=len(removed), names=names)])
        )
    return Reply(
        ctx.t("team.list_title", team=ctx.team.display_name, count=len(members)),
        sections=sections,
    )


@family.subcommand("add", "新增")
def add_to_team(ctx: Context, args: list[str]) -> Reply:
    """A new member, or a removed one back (with the role they had, unless one is given)."""
    handle = _mentioned(ctx, args)
    role: str | None = None
    for word in args[1:]:
        role = parse_role(word)
    if not MEMBER_ID.match(handle) or handle.casefold() in SELF_HANDLES:
        # `@me` names the speaker everywhere, so nobody can be called "me".
        raise CommandError("team.error.bad_id", value=handle[:40])
    _require_admin(ctx)
    existing = member_store.find_member(
        ctx.session, team_id=ctx.team.id, handle=handle, include_removed=True
    )
    if existing is not None and existing.active:
        raise CommandError("team.error.exists", name=handle, show_usage=False)
    if existing is not None:
        existing.active = True
        existing.role = role or existing.role
        return Reply(
            ctx.t("team.readded", name=existing.name, role=_role(ctx, existing.role)),
            tone=Tone.SUCCESS,
        )
    role = role or "member"
    member = member_store.add_member(
        ctx.session, team_id=ctx.team.id, member_id=handle, name=handle, role=role, now=ctx.now()
    )
    return Reply(ctx.t("team.added", name=member.name, role=_role(ctx, role)), tone=Tone.SUCCESS)


@family.subcommand("remove", "移除")
def remove_from_team(ctx: Context, args: list[str]) -> Reply:
    """`/team remove @dave`: deactivated, not deleted — the posts, tasks, stand-ups and
    votes naming them stay whole, while prompts, counts and mentions skip them."""
    handle = _mentioned(ctx, args)
    if len(args) > 1:
        raise CommandError("errors.extra_words", words=" ".join(args[1:])[:80])
    _require_admin(ctx)
    wanted = ctx.member.id if handle.casefold() in SELF_HANDLES else handle
    member = member_store.find_member(
        ctx.session, team_id=ctx.team.id, handle=wanted, include_removed=True
    )
    if member is None:
        raise CommandError("errors.unknown_member", name=handle[:40], known=_known(ctx))
    if not member.active:
        raise CommandError("team.error.already_removed", name=member.name, show_usage=False)
    if member.role == "admin" and member_store.count_admins(ctx.session, team_id=ctx.team.id) == 1:
        raise CommandError("team.error.last_admin_removed", show_usage=False)
    member.active = False
    return Reply(
        ctx.t("team.removed", name=member.name, handle=member.id, role=_role(ctx, member.role)),
        tone=Tone.SUCCESS,
    )


@family.subcommand("role", "角色")
def change_role(ctx: Context, args: list[str]) -> Reply:
    handle = _mentioned(ctx, args)
    if len(args) != 2:
        raise CommandError("team.error.missing_role")
    role = parse_role(args[1])
    _require_admin(ctx)
    member = _stored(ctx, resolve_member(ctx, handle))
    if (
        member.role == "admin"
        and role != "admin"
        and member_store.count_admins(ctx.session, team_id=ctx.team.id) == 1
    ):
        raise CommandError("team.error.last_admin", show_usage=False)
    before = member.role
    member.role = role
    return Reply(
        ctx.t(
            "team.role_changed", name=member.name, before=_role(ctx, before), role=_role(ctx, role)
        ),
        tone=Tone.SUCCESS,
    )


@family.subcommand("away", "请假")
def mark_away(ctx: Context, args: list[str]) -> Reply:
    """`/team away @carol 11-24 11-28`; `/team away @carol off` clears it."""
    handle = _mentioned(ctx, args)
    today = ctx.today()
    clear = len(args) == 2 and args[1].casefold() in CLEAR_WORDS
    if not clear:
        if len(args) != 3:
            raise CommandError("team.error.away_dates")
        start = parse_date([args[1]], today=today)
        end = parse_date([args[2]], today=today)
        if end < start:
            raise CommandError("team.error.away_order")
    member = _stored(ctx, resolve_member(ctx, handle))
    if member.id != ctx.member.id:
        _require_admin(ctx)
    if clear:
        member.away_from = member.away_to = None
        return Reply(ctx.t("team.back", name=member.name), tone=Tone.SUCCESS)
    member.away_from, member.away_to = start, end
    return Reply(
        ctx.t("team.away", name=member.name, start=ctx.day_text(start), end=ctx.day_text(end)),
        tone=Tone.SUCCESS,
    )
