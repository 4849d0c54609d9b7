"""`/task` (`/任务`): tasks in the important/urgent matrix — a day's, laid out as a
timeline, and the week's and month's plans they are taken from (`handlers/task_plans.py`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from bot.core.commands import CommandFamily, Context, Speaker
from bot.core.errors import CommandError
from bot.core.messages import Reply, Section, Tone
from bot.core.render.text import shorten
from bot.vocab.arguments import OnceEach, parse_id, parse_mention, unquote
from bot.vocab.durations import format_minutes, is_estimate, parse_estimate
from bot.vocab.when import parse_date, split_trailing_date
from handlers.day_plan import DayPlan, plan_day, plan_head
from handlers.records import load_record
from handlers.task_plans import (
    PlanEntry,
    PlanLine,
    PlanMatrix,
    PlanPeriod,
    looks_like_time,
    parse_plan_choice,
    period_of,
    pick_for_today,
    plan_matrix,
    split_trailing_period,
)
from handlers.team import resolve_member
from storage import members as member_store
from storage import tasks as task_store
from storage.members import MemberLine
from storage.models import TITLE_MAX_LENGTH, Task, TaskFields

family = CommandFamily("task", aliases=("任务",))

QUADRANT_WORDS = {
    "q1": "q1", "重要紧急": "q1", "紧急重要": "q1",
    "q2": "q2", "重要": "q2", "重要不紧急": "q2",
    "q3": "q3", "紧急": "q3", "紧急不重要": "q3",
    "q4": "q4", "不重要不紧急": "q4",
}  # fmt: skip
EVERYONE_WORDS = {"all", "全部", "所有人"}
MINE_WORDS = {"mine", "我的", "me"}
DEFAULT_QUADRANT = "q2"
PLAN_SHOWN = 30  # tasks of a plan `/task list` lays out; the rest are counted, as in the backlog


def parse_quadrant(word: str) -> str | None:
    """`q1`…`q4` (or the Chinese matrix names); raises for `q7`, None for other words."""
    folded = word.casefold()
    if folded in QUADRANT_WORDS:
        return QUADRANT_WORDS[folded]
    if len(folded) == 2 and folded[0] == "q" and folded[1].isdigit():
        raise CommandError("task.error.bad_quadrant", value=word)
    return None


def read_task_words(ctx: Context, words: list[str]) -> tuple[str, TaskOptions]:
    """`<text> [q1-q4] [~duration] [@member] [<date>|<week>|<month>]`: the text and the
    options given.

    The options are read from the end of the line (in any order there, each once); words
    before them are the text, so "Plan Q1 campaign" and "和 @bob 对齐选题" keep their
    words. A text that ends in something option-like is quoted: `"复盘 q3" q1`. A week or
    month (`next week`, 下月, `2026-W48`, `2026-12`) stands where a date would, so a task
    has one or the other; one that is over is refused.
    """
    quoted, words = unquote(words)
    found = TaskOptions()
    given = OnceEach()
    words = list(words)
    while words:
        word = words[-1]
        mention = parse_mention(word)
        if mention is not None:
            given.give("member", word)
            found.owner = resolve_member(ctx, mention)
        elif is_estimate(word):
            given.give("estimate", word)
            found.estimate = parse_estimate(word)
        elif (quadrant := parse_quadrant(word)) is not None:
            given.give("quadrant", word)
            found.quadrant = quadrant
        else:
            rest, period, shown = split_trailing_period(words, today=ctx.today())
            if period is not None:
                given.give("date", shown)
                if period.end < ctx.today():
                    raise CommandError(
                        "task.error.plan_in_the_past", value=shown, period=period_label(ctx, period)
                    )
                found.period, words = period, rest
                continue
            rest, day = split_trailing_date(words, today=ctx.today())
            if day is None:
                break
            given.give("date", " ".join(words[len(rest) :]))
            found.day, words = day, rest
            continue
        words.pop()
    no_when = found.day is None and found.period is None
    if quoted is None and words and no_when and looks_like_time(words[-1]):
        # `十二月活动 12月`: a time it cannot read is not a title word, and not guessed
        raise CommandError("task.error.time_not_understood", value=words[-1][:20])
    if quoted is not None:
        if words:
            raise CommandError("errors.extra_words", words=" ".join(words)[:40])
        words = [quoted] if quoted else []
    text = " ".join(words)
    if len(text) > TITLE_MAX_LENGTH:
        raise CommandError("errors.title_too_long", max=TITLE_MAX_LENGTH, length=len(text))
    return text, found


def task_from_words(
    ctx: Context, words: list[str], *, default_owner: Speaker, default_day: date
) -> TaskFields:
    """An unsaved task from `<text> [q1-q4] [~duration] [@member] [<date>|<week>|<month>]`:
    a day task, or an item of the week's or month's plan."""
    text, found = read_task_words(ctx, words)
    if not text:
        raise CommandError("task.error.missing_text")
    now = ctx.now()
    period = found.period
    return TaskFields(
        team_id=ctx.team.id,
        owner=(found.owner or default_owner).id,
        text=text,
        quadrant=found.quadrant or DEFAULT_QUADRANT,
        estimate_minutes=found.estimate,
        day=found.day or (None if period else default_day),
        week=period.key if period and period.scope == "week" else None,
        month=period.key if period and period.scope == "month" else None,
        created_by=ctx.member.id,
        created_at=now,
        updated_at=now,
    )


@dataclass
class TaskOptions:
    """The options a task line gave (None: not given, the default applies)."""

    quadrant: str | None = None
    estimate: int | None = None
    owner: Speaker | None = None
    day: date | None = None
    period: PlanPeriod | None = None


def estimate_text(ctx: Context, minutes: int | None) -> str:
    if not minutes:
        return ctx.t("task.no_estimate")
    return format_minutes(minutes)


def hours_text(minutes: int) -> str:
    """Hours to a tenth: `13.4` rather than `13.4167`."""
    return f"{round(minutes / 60, 1):g}"


def period_label(ctx: Context, period: PlanPeriod, *, short: bool = False) -> str:
    """`第 48 周（11-23 – 11-29）` / `2026年12月`; short: `第 48 周` / `12月`."""
    if period.scope == "month":
        month_name = ctx.t(f"month.{period.number}")
        return (
            month_name
            if short
            else ctx.t("task.period.month", year=period.year, month_name=month_name)
        )
    if short:
        return ctx.t("task.period.week_short", number=period.number)
    key = "task.period.week" if period.year == ctx.today().year else "task.period.week_with_year"
    return ctx.t(
        key, number=period.number, year=period.year,
        start=period.start.strftime("%m-%d"), end=period.end.strftime("%m-%d"),
    )  # fmt: skip


def scope_text(ctx: Context, task: TaskFields, *, say_today: bool = True) -> str:
    """Where a task stands, as a write echoes it: its day (today said so when asked), its
    week or month, or both once a plan item is taken into a day."""
    period = period_of(task)
    if task.day is None:
        return period_label(ctx, period) if period else "–"
    day = (
        ctx.t("task.today_on", day=ctx.day_text(task.day))
        if say_today and task.day == ctx.today()
        else ctx.day_text(task.day)
    )
    if period is None:
        return day
    return ctx.t("task.day_from_plan", day=day, period=period_label(ctx, period, short=True))


def minutes_text(minutes: int) -> str:
    """A sum of estimates: `7h`, `30m`, `0h`."""
    return format_minutes(minutes) if minutes else "0h"


def plan_rows(ctx: Context, plan: DayPlan, limit: int | None = None) -> list[tuple[str, ...]]:
    """`Q1  09:30–11:30  写推文初稿 (2h)  #3  ↩ 已顺延 2 天` — the first `limit` items."""
    rows: list[tuple[str, ...]] = []
    for item in plan.items[:limit]:
        slot = (  # formatted by hand: strftime costs more than the rest of the line
            f"{item.start.hour:02d}:{item.start.minute:02d}–{item.end.hour:02d}:{item.end.minute:02d}"
            if item.start and item.end
            else "—"
        )
        waited = ctx.t("task.carried_over", days=item.waited_days) if item.waited_days else ""
        rows.append(
            (
                item.task.quadrant.upper(),
                slot,
                f"{shorten(item.task.text)} ({estimate_text(ctx, item.task.estimate_minutes)})",
                f"#{item.task.id}",
                waited,
            )
        )
    return rows


def plan_heading(ctx: Context, name: str, plan: DayPlan) -> str:
    if not plan.items:
        return ctx.t("task.plan_empty", name=name)
    heading = ctx.t("task.plan_heading", name=name, hours=hours_text(plan.total_minutes))
    if plan.over_limit:
        heading += ctx.t("task.over_limit", limit=f"{ctx.team.workday.planned_hours_limit:g}")
    return heading


def _plan_for(
    ctx: Context, member: Speaker | MemberLine, day: date
) -> tuple[DayPlan, task_store.OwnPlan]:
    """The head of a member's plan for `day` (`PLAN_SHOWN` tasks), and what was read of
    the whole of it (the counts, the ids of the rest)."""
    own = task_store.own_plan_head(
        ctx.session, team_id=ctx.team.id, owner=member.id, day=day, today=ctx.today(),
        shown=PLAN_SHOWN,
    )  # fmt: skip
    plan = plan_head(
        own.head, open_count=own.open_count, open_minutes=own.open_minutes, day=day,
        workday=ctx.team.workday,
    )  # fmt: skip
    return plan, own


def _load(ctx: Context, word: str | None) -> Task:
    return load_record(ctx, Task, word, not_found="task.error.not_found")


def _require_own_or_lead(ctx: Context, task: Task) -> None:
    """The owner, whoever added it, editors and admins may change a task."""
    if ctx.member.id not in (task.owner, task.created_by) and ctx.member.role not in (
        "editor",
        "admin",
    ):
        raise CommandError("task.error.not_yours", id=task.id, show_usage=False)
    if task.status != "open":
        raise CommandError(
            "task.error.closed", id=task.id, status=ctx.t(f"task_status.{task.status}"),
            show_usage=False,
        )  # fmt: skip


@family.subcommand("add", "新增")
def add_task(ctx: Context, args: list[str]) -> Reply:
    today = ctx.today()
    task = task_store.add_task(
        ctx.session, task_from_words(ctx, args, default_owner=ctx.member, default_day=today)
    )
    if task.owner == ctx.member.id:  # most tasks are the speaker's own: no read for a name
        names = {ctx.member.id: ctx.member.name}
    else:
        names = member_store.member_names(ctx.session, team_id=ctx.team.id)
    return Reply(
        ctx.t(
            "task.added",
            id=task.id,
            text=task.text,
            quadrant=task.quadrant.upper(),
            estimate=estimate_text(ctx, task.estimate_minutes),
            name=names.get(task.owner, task.owner),
            day=scope_text(ctx, task),
        ),
        tone=Tone.SUCCESS,
    )


@family.subcommand("list", "列表", "ls", reads_only=True)
def list_tasks(ctx: Context, args: list[str]) -> Reply:
    """A day as a plan; your own today also offers the plan items that still fit."""
    today = ctx.today()
    members: list[Speaker | MemberLine] = [ctx.member]
    day = today
    for word in args:
        mention = parse_mention(word)
        if mention is not None:
            members = [resolve_member(ctx, mention)]
        elif word.casefold() in EVERYONE_WORDS:
            members = list(member_store.list_members(ctx.session, team_id=ctx.team.id))
        elif word.casefold() in MINE_WORDS:
            members = [ctx.member]
        else:
            day = parse_date([word], today=today)
    sections = []
    for member in members:
        plan, own = _plan_for(ctx, member, day)
        section = Section(title=plan_heading(ctx, member.name, plan), rows=plan_rows(ctx, plan))
        if plan.more:  # their ids, so that each is still one command away
            ids = " ".join(f"#{task_id}" for task_id in own.rest)
            if len(own.rest) < plan.more:
                ids += " …"
            section.lines.append(ctx.t("task.more", count=plan.more, ids=ids))
        if own.done:
            section.lines.append(ctx.t("task.done_count", count=own.done))
        sections.append(section)
    if day == today and [member.id for member in members] == [ctx.member.id]:
        offer = plan_offers(ctx, [ctx.member.id]).get(ctx.member.id)
        if offer:
            sections.append(Section(lines=[offer_line(ctx, offer)]))
    title = ctx.t("task.list_title", **ctx.day_label(day))
    return Reply(title, sections=sections)


@family.subcommand("done", "完成")
def finish_task(ctx: Context, args: list[str]) -> Reply:
    task = _load(ctx, args[0] if args else None)
    _require_own_or_lead(ctx, task)
    task.status, task.done_at, task.updated_at = "done", ctx.now(), ctx.now()
    return Reply(ctx.t("task.finished", id=task.id, text=task.text), tone=Tone.SUCCESS)


@family.subcommand("drop", "删除", "放弃")
def drop_task(ctx: Context, args: list[str]) -> Reply:
    task = _load(ctx, args[0] if args else None)
    _require_own_or_lead(ctx, task)
    task.status, task.updated_at = "dropped", ctx.now()
    return Reply(ctx.t("task.dropped", id=task.id, text=task.text), tone=Tone.SUCCESS)


@family.subcommand("move", "改期")
def move_task(ctx: Context, args: list[str]) -> Reply:
    parse_id(args[0] if args else None)
    day = parse_date(args[1:], today=ctx.today())
    task = _load(ctx, args[0])
    _require_own_or_lead(ctx, task)
    if day < ctx.today():
        raise CommandError("task.error.in_the_past", date=ctx.day_text(day))
    task.day, task.updated_at = day, ctx.now()
    return Reply(
        ctx.t("task.moved", id=task.id, text=task.text, date=ctx.day_text(day)),
        tone=Tone.SUCCESS,
    )


@family.subcommand("edit", "修改")
def edit_task(ctx: Context, args: list[str]) -> Reply:
    """`/task edit 3 [text] [q1] [~2h] [@bob] [<date>|<week>|<month>]`: changes only what
    is given. A week or month makes it an item of that plan (out of any day); a date on a
    plan item takes it into that day."""
    parse_id(args[0] if args else None)
    text, found = read_task_words(ctx, args[1:])
    task = _load(ctx, args[0])
    _require_own_or_lead(ctx, task)
    if not text and found == TaskOptions():
        raise CommandError("task.error.nothing_to_change")
    if found.day is not None and found.day < ctx.today():
        raise CommandError("task.error.in_the_past", date=ctx.day_text(found.day))
    task.text = text or task.text
    task.quadrant = found.quadrant or task.quadrant
    task.estimate_minutes = found.estimate or task.estimate_minutes
    task.owner = found.owner.id if found.owner else task.owner
    task.day = found.day or task.day
    if found.period is not None:
        task.day = None
        task.week = found.period.key if found.period.scope == "week" else None
        task.month = found.period.key if found.period.scope == "month" else None
    task.updated_at = ctx.now()
    names = member_store.member_names(ctx.session, team_id=ctx.team.id)
    return Reply(
        ctx.t(
            "task.edited", id=task.id, text=task.text, quadrant=task.quadrant.upper(),
            estimate=estimate_text(ctx, task.estimate_minutes),
            name=names.get(task.owner, task.owner), day=scope_text(ctx, task, say_today=False),
        ),
        tone=Tone.SUCCESS,
    )  # fmt: skip


# Week and month plans ------------------------------------------------------------------


def _day_minutes(ctx: Context) -> int:
    """What a workday holds: the hours beyond which a day's plan is flagged."""
    return round(ctx.team.workday.planned_hours_limit * 60)


def plan_offers(ctx: Context, owners: Sequence[str]) -> dict[str, list[PlanLine]]:
    """For each owner, the open plan items of this week and month (or carried into them)
    that fit the hours left today: the workday's hours minus today's open estimates.
    Nothing on a day the team does not work. Two statements, whatever the owners."""
    today = ctx.today()
    if not owners or not ctx.team.is_workday(today):
        return {}
    owner = owners[0] if len(owners) == 1 else None
    items = task_store.plan_items_to_offer(
        ctx.session, team_id=ctx.team.id, owner=owner,
        week=PlanPeriod.containing("week", today).key,
        month=PlanPeriod.containing("month", today).key,
    )  # fmt: skip
    if not items:
        return {}
    used: dict[str, int] = {}
    for task in task_store.tasks_for_day(
        ctx.session, team_id=ctx.team.id, day=today, today=today, owner=owner
    ):
        if task.status == "open":
            used[task.owner] = used.get(task.owner, 0) + (task.estimate_minutes or 0)
    offers = {}
    for member in owners:
        left = _day_minutes(ctx) - used.get(member, 0)
        picked = pick_for_today([i for i in items if i.owner == member], minutes_left=left)
        if picked:
            offers[member] = picked
    return offers


def _offer_items(ctx: Context, offer: Iterable[PlanLine]) -> str:
    return ctx.t("standup.part_separator").join(
        f"#{task.id} {shorten(task.text)} ({estimate_text(ctx, task.estimate_minutes)})"
        for task in offer
    )


def offer_line(ctx: Context, offer: Sequence[PlanLine]) -> str:
    """`📋 今天还能从计划里拿：#4 策划双十二活动 (3h)、#8 … → /任务 今天 4 8`"""
    return ctx.t(
        "task.plan_offer",
        items=_offer_items(ctx, offer),
        ids=" ".join(str(task.id) for task in offer),
    )


def standup_offer_line(ctx: Context, offer: Sequence[PlanLine]) -> str:
    """The same offer in the stand-up prompt, said the way an answer takes it (`#4 #8`)."""
    return ctx.t(
        "standup.plan_offer",
        items=_offer_items(ctx, offer),
        refs=" ".join(f"#{task.id}" for task in offer),
    )


def _entry_note(ctx: Context, entry: PlanEntry) -> str:
    """`⤷ 从第 47 周顺延 · 📅 11-24 周二` / `✅`."""
    notes = []
    if entry.carried_from is not None:
        notes.append(
            ctx.t("task.carried_from", period=period_label(ctx, entry.carried_from, short=True))
        )
    if entry.task.status == "done":
        notes.append(ctx.t("task.plan.done"))
    elif entry.task.day is not None:
        notes.append(ctx.t("task.plan.in_day", **ctx.day_label(entry.task.day)))
    return " · ".join(notes)


def _entry_text(ctx: Context, entry: PlanEntry) -> str:
    task = entry.task
    return f"{shorten(task.text)} ({estimate_text(ctx, task.estimate_minutes)})"


def _quadrant_title(ctx: Context, name: str, minutes: int) -> str:
    return ctx.t(
        "task.plan.quadrant", quadrant=name.upper(), name=ctx.t(f"task.quadrant.{name}"),
        hours=minutes_text(minutes),
    )  # fmt: skip


def _q1_warning(ctx: Context, matrix: PlanMatrix) -> str:
    return ctx.t(
        "task.plan.q1_over",
        hours=hours_text(matrix.quadrants[0].open_minutes),
        days=matrix.workdays_left,
        capacity=hours_text(matrix.capacity_minutes),
        day_hours=hours_text(_day_minutes(ctx)),
    )


def _matrix_for(ctx: Context, tasks: Iterable[PlanLine], period: PlanPeriod) -> PlanMatrix:
    return plan_matrix(
        tasks, period=period, today=ctx.today(), day_minutes=_day_minutes(ctx),
        is_workday=ctx.team.is_workday,
    )  # fmt: skip


def _period_word(ctx: Context, period: PlanPeriod) -> str:
    """How `/task add` names the period: 本周 / 下月 …, else `2026-W50`."""
    current = PlanPeriod.containing(period.scope, ctx.today())
    if period == current:
        return ctx.t(f"task.plan.scope_word.{period.scope}")
    if period == current.shifted(1):
        return ctx.t(f"task.plan.scope_word.next_{period.scope}")
    return period.key


def _one_plan(ctx: Context, member: Speaker | MemberLine, matrix: PlanMatrix) -> Reply:
    """One person's plan as the four quadrants, the Q1 warning and today's offer."""
    title = ctx.t(
        "task.plan.title", name=member.name, period=period_label(ctx, matrix.period),
        days=matrix.workdays_left, hours=hours_text(matrix.capacity_minutes),
    )  # fmt: skip
    if matrix.is_empty:
        scope_word = _period_word(ctx, matrix.period)
        return Reply(title, sections=[Section(lines=[ctx.t("task.plan.empty", scope=scope_word)])])
    sections = [
        Section(
            title=_quadrant_title(ctx, quadrant.name, quadrant.minutes),
            rows=[
                (f"#{entry.task.id}", _entry_text(ctx, entry), _entry_note(ctx, entry))
                for entry in quadrant.entries
            ],
            lines=[] if quadrant.entries else ["–"],
        )
        for quadrant in matrix.quadrants
    ]
    notes = []
    if matrix.q1_over:
        notes.append(_q1_warning(ctx, matrix))
    today = ctx.today()
    if member.id == ctx.member.id and matrix.period.start <= today <= matrix.period.end:
        offer = plan_offers(ctx, [member.id]).get(member.id)
        if offer:
            notes.append(offer_line(ctx, offer))
    if notes:
        sections.append(Section(lines=notes))
    return Reply(title, sections=sections)


def _team_plan(
    ctx: Context,
    members: Sequence[Speaker | MemberLine],
    period: PlanPeriod,
    items: Sequence[PlanLine],
) -> Reply:
    """Everyone's plan, a section each: quadrant sums in the heading, one row per item."""
    by_owner: dict[str, list[PlanLine]] = {}
    for task in items:
        by_owner.setdefault(task.owner, []).append(task)
    sections = []
    capacity = 0
    days = 0
    for member in members:
        matrix = _matrix_for(ctx, by_owner.get(member.id, []), period)
        capacity, days = matrix.capacity_minutes, matrix.workdays_left
        if matrix.is_empty:
            sections.append(Section(title=ctx.t("task.plan.member_empty", name=member.name)))
            continue
        sums = " · ".join(
            f"{quadrant.name.upper()} {minutes_text(quadrant.minutes)}"
            for quadrant in matrix.quadrants
        )
        heading = ctx.t("task.plan.member_heading", name=member.name, quadrants=sums)
        if matrix.q1_over:
            heading += ctx.t("task.plan.member_over", capacity=hours_text(capacity))
        rows: list[tuple[str, ...]] = [
            (quadrant.name.upper(), f"#{entry.task.id}", _entry_text(ctx, entry),
             _entry_note(ctx, entry))
            for quadrant in matrix.quadrants
            for entry in quadrant.entries
        ]  # fmt: skip
        sections.append(Section(title=heading, rows=rows))
    title = ctx.t(
        "task.plan.title_all", period=period_label(ctx, period), days=days,
        hours=hours_text(capacity),
    )  # fmt: skip
    return Reply(title, sections=sections)


@family.subcommand("plan", "计划", reads_only=True)
def show_plan(ctx: Context, args: list[str]) -> Reply:
    """`/task plan [week|month|next week|<YYYY-Www>|<YYYY-MM>] [@member|mine|all]`."""
    today = ctx.today()
    members: list[Speaker | MemberLine] = [ctx.member]
    everyone = False
    period_words, whos = [], []
    for word in args:
        mention = parse_mention(word)
        if mention is not None:
            members, everyone = [resolve_member(ctx, mention)], False
        elif word.casefold() in EVERYONE_WORDS:
            everyone = True
        elif word.casefold() in MINE_WORDS:
            members, everyone = [ctx.member], False
        else:
            period_words.append(word)
            continue
        whos.append(word)
    if len(whos) > 1:  # `@bob @carol`: whose plan? not guessed
        raise CommandError("errors.two_members", words=" ".join(whos)[:40])
    period = parse_plan_choice(period_words, today=today)
    current = period.start <= today <= period.end
    if everyone:
        members = list(member_store.list_members(ctx.session, team_id=ctx.team.id))
    owner = None if everyone else members[0].id
    items = task_store.plan_items(
        ctx.session, team_id=ctx.team.id, scope=period.scope, period=period.key,
        carried=current, owner=owner,
    )  # fmt: skip
    if everyone:
        return _team_plan(ctx, members, period, items)
    return _one_plan(ctx, members[0], _matrix_for(ctx, items, period))


def tasks_to_take_today(ctx: Context, words: Sequence[str]) -> tuple[list[Task], list[Task]]:
    """The tasks `#4 #8` names that a day's timeline takes today, and those already in it.

    Each must be an open plan item (or already in today's timeline, its own or carried
    over) that the speaker may change; one that is not refuses them all, so nothing is
    half moved."""
    # `#12，#13` or `12、14`: the ids as a Chinese keyboard separates them, too.
    words = [piece for word in words for piece in re.split(r"[,，、]", word) if piece]
    if not words:
        parse_id(None)  # refuses: the id is missing
    ids: list[int] = []
    for word in words:
        row_id = parse_id(word)
        if row_id not in ids:
            ids.append(row_id)
    today = ctx.today()
    taken: list[Task] = []
    already: list[Task] = []
    for row_id in ids:
        task = _load(ctx, str(row_id))
        _require_own_or_lead(ctx, task)
        if task.day is None:
            taken.append(task)
        elif task.day <= today:
            already.append(task)
        else:
            raise CommandError(
                "task.error.not_a_plan_item", id=task.id, date=ctx.day_text(task.day),
                show_usage=False,
            )  # fmt: skip
    return taken, already


def take_today(ctx: Context, tasks: Iterable[Task]) -> None:
    """Into today's timeline: the task gets today and keeps its week or month."""
    for task in tasks:
        task.day, task.updated_at = ctx.today(), ctx.now()


@family.subcommand("today", "今天", "今日")
def take_into_today(ctx: Context, args: list[str]) -> Reply:
    """`/task today 4 8`: plan items into today's timeline, keeping text, quadrant and
    estimate; the reply shows where each landed."""
    taken, already = tasks_to_take_today(ctx, args)
    take_today(ctx, taken)
    ctx.session.flush()
    today = ctx.today()
    names = member_store.member_names(ctx.session, team_id=ctx.team.id)
    sections = []
    for owner in dict.fromkeys(task.owner for task in taken):
        plan = plan_day(
            task_store.tasks_for_day(
                ctx.session, team_id=ctx.team.id, day=today, today=today, owner=owner
            ),
            day=today,
            workday=ctx.team.workday,
        )
        origins = {task.id: period_of(task) for task in taken if task.owner == owner}
        rows: list[tuple[str, ...]] = []
        for row in plan_rows(ctx, plan):
            task_id = int(row[3].removeprefix("#"))
            origin = origins.get(task_id)
            if origin is not None:
                note = ctx.t("task.from_plan", period=period_label(ctx, origin, short=True))
                rows.append((*row[:4], note))
        sections.append(Section(title=plan_heading(ctx, names.get(owner, owner), plan), rows=rows))
    if already:
        sections.append(
            Section(
                lines=[
                    ctx.t(
                        "task.today.already",
                        ids=" ".join(f"#{task.id}" for task in already),
                    )
                ]
            )
        )
    day = ctx.day_text(today)
    if not taken:
        return Reply(ctx.t("task.today.nothing", day=day), sections=sections)
    return Reply(
        ctx.t("task.today.taken", day=day, ids=" ".join(f"#{task.id}" for task in taken)),
        tone=Tone.SUCCESS,
        sections=sections,
    )
