"""`/standup` (`/站会`): the daily stand-up — answers, who is missing, and blockers.

An answer is free text or `yesterday: … | today: … | blockers: …` (昨天：… | 今天：… |
阻碍：…). Answering again the same day replaces the answer. With `+tasks` (`+任务`)
each item under `today` (split at commas) also becomes one of today's tasks, and may
carry a quadrant and an estimate: `today: 写推文初稿 q1 ~2h，回复留言 q3 ~30m +tasks`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.core.commands import CommandFamily, Context
from bot.core.errors import CommandError
from bot.core.jobs import CronJob, Outgoing, member_target
from bot.core.messages import Reply, Section, Tone
from handlers.tasks import task_from_words
from storage import members as member_store
from storage import standups as standup_store
from storage import tasks as task_store
from storage.models import Member, Standup

family = CommandFamily("standup", aliases=("站会",))

FIELD_MAX_LENGTH = 2000
TASK_FLAGS = {"+tasks", "+task", "+任务"}
_LABELS = {
    "yesterday": "yesterday", "y": "yesterday", "昨天": "yesterday", "昨日": "yesterday",
    "today": "today", "t": "today", "今天": "today", "今日": "today",
    "blockers": "blockers", "blocker": "blockers", "blocked": "blockers", "b": "blockers",
    "阻碍": "blockers", "卡点": "blockers", "困难": "blockers", "问题": "blockers",
}  # fmt: skip
_LABELLED = re.compile(r"^\s*([A-Za-z]+|[\u4e00-\u9fff]{2})\s*[:：]\s*(.*)$", re.DOTALL)
_PARTS = re.compile(r"\s*[|｜\n]\s*")
_ITEMS = re.compile(r"\s*[,，、;；]\s*")
_NOTHING = {"", "-", "–", "无", "没有", "none", "n/a", "no"}


@dataclass(frozen=True)
class StandupAnswer:
    yesterday: str | None
    today: str | None
    blockers: str | None


def parse_standup(text: str) -> StandupAnswer:
    """Split an answer into its three parts; text without labels is what today holds."""
    fields: dict[str, list[str]] = {}
    current = "today"
    for part in _PARTS.split(text.strip()):
        match = _LABELLED.match(part)
        if match and match.group(1).casefold() in _LABELS:
            current = _LABELS[match.group(1).casefold()]
            part = match.group(2)
        if part.strip():
            fields.setdefault(current, []).append(part.strip())

    def joined(name: str) -> str | None:
        value = "; ".join(fields.get(name, []))
        if value.casefold() in _NOTHING:
            return None
        if len(value) > FIELD_MAX_LENGTH:
            raise CommandError("standup.error.too_long", max=FIELD_MAX_LENGTH)
        return value

    return StandupAnswer(joined("yesterday"), joined("today"), joined("blockers"))


def is_away(member: Member, day: date) -> bool:
    return bool(member.away_from and member.away_to and member.away_from <= day <= member.away_to)


def standup_prompt_recipients(
    members: Iterable[Member], *, now: datetime, zone: ZoneInfo
) -> list[str]:
    """Who the morning stand-up prompt goes to: everyone who is not away today."""
    day = now.astimezone(zone).date()
    return [member.id for member in members if not is_away(member, day)]


def standup_missing(
    members: Iterable[Member], standups: Iterable[Standup], *, now: datetime, zone: ZoneInfo
) -> list[str]:
    """Who the stand-up reminder goes to: not away, and no answer for today yet."""
    day = now.astimezone(zone).date()
    answered = {standup.member for standup in standups if standup.day == day}
    return [
        member.id for member in members if not is_away(member, day) and member.id not in answered
    ]


def _answer_sections(ctx: Context, answer: StandupAnswer | Standup) -> list[str]:
    lines = []
    for name in ("yesterday", "today", "blockers"):
        value = getattr(answer, name)
        if value:
            lines.append(ctx.t(f"standup.label.{name}", value=value))
    return lines


def _status(ctx: Context) -> Reply:
    today = ctx.today()
    members = member_store.list_members(ctx.session, team_id=ctx.team.id)
    answers = {
        s.member: s
        for s in standup_store.standups_for_day(ctx.session, team_id=ctx.team.id, day=today)
    }
    away = [m for m in members if is_away(m, today) and m.id not in answers]
    expected = [m for m in members if m not in away]
    missing = [m for m in expected if m.id not in answers]
    title = ctx.t(
        "standup.status_title",
        date=today.strftime("%m-%d"),
        answered=len(expected) - len(missing),
        expected=len(expected),
    )
    people = Section()
    if missing:
        people.lines.append(ctx.t("standup.missing", names=", ".join(m.name for m in missing)))
    if away:
        people.lines.append(ctx.t("standup.away", names=", ".join(m.name for m in away)))
    names = {m.id: m.name for m in members}
    answered = Section(
        rows=[(names.get(member, member), s.today or "–") for member, s in answers.items()]
    )
    blockers = Section(
        title=ctx.t("standup.blockers_title"),
        lines=[
            f"{names.get(member, member)}：{s.blockers}"
            for member, s in answers.items()
            if s.blockers
        ],
    )
    sections = [section for section in (people, answered) if section.lines or section.rows]
    if blockers.lines:
        sections.append(blockers)
    return Reply(title, sections=sections)


@family.default_handler()
def standup(ctx: Context, args: list[str]) -> Reply:
    if not args:
        return _status(ctx)
    make_tasks = any(word.casefold() in TASK_FLAGS for word in args)
    text = " ".join(word for word in args if word.casefold() not in TASK_FLAGS)
    answer = parse_standup(text)
    if not (answer.yesterday or answer.today or answer.blockers):
        raise CommandError("standup.error.empty")
    today = ctx.today()
    tasks = []
    if make_tasks:
        if not answer.today:
            raise CommandError("standup.error.no_today_items")
        for item in _ITEMS.split(answer.today):
            if item.strip():
                tasks.append(
                    task_from_words(ctx, item.split(), default_owner=ctx.member, default_day=today)
                )
    existing = standup_store.get_standup(
        ctx.session, team_id=ctx.team.id, member=ctx.member.id, day=today
    )
    replaced_at = existing.answered_at if existing else None
    if existing is None:
        existing = Standup(
            team_id=ctx.team.id, member=ctx.member.id, day=today, answered_at=ctx.now()
        )
        ctx.session.add(existing)
    existing.yesterday, existing.today, existing.blockers = (
        answer.yesterday,
        answer.today,
        answer.blockers,
    )
    existing.answered_at = ctx.now()
    saved = [task_store.add_task(ctx.session, task) for task in tasks]
    if replaced_at is None:
        title = ctx.t("standup.saved", name=ctx.member.name, date=today.strftime("%m-%d"))
    else:
        title = ctx.t(
            "standup.replaced", name=ctx.member.name, time=ctx.local(replaced_at).strftime("%H:%M")
        )
    lines = _answer_sections(ctx, answer)
    if saved:
        lines.append(ctx.t("standup.tasks_added", ids=" ".join(f"#{task.id}" for task in saved)))
    return Reply(title, tone=Tone.SUCCESS, sections=[Section(lines=lines)])


def _standup_prompts(ctx: Context, day: date) -> list[Outgoing]:
    members = member_store.list_members(ctx.session, team_id=ctx.team.id)
    names = {m.id: m.name for m in members}
    recipients = standup_prompt_recipients(members, now=ctx.now(), zone=ctx.team.zone)
    return [
        Outgoing(member_target(m), Reply(ctx.t("scheduler.standup_prompt", name=names[m])))
        for m in recipients
    ]


def _standup_reminders(ctx: Context, day: date) -> list[Outgoing]:
    members = member_store.list_members(ctx.session, team_id=ctx.team.id)
    names = {m.id: m.name for m in members}
    answers = standup_store.standups_for_day(ctx.session, team_id=ctx.team.id, day=day)
    missing = standup_missing(members, answers, now=ctx.now(), zone=ctx.team.zone)
    return [
        Outgoing(member_target(m), Reply(ctx.t("scheduler.standup_reminder", name=names[m])))
        for m in missing
    ]


STANDUP_PROMPT = CronJob(
    "standup_prompt", cron=lambda team: team.schedule.standup_prompt, build=_standup_prompts
)
STANDUP_REMINDER = CronJob(
    "standup_reminder", cron=lambda team: team.schedule.standup_reminder, build=_standup_reminders
)
