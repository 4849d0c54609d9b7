"""`/task` (`/任务`): today's tasks in the important/urgent matrix, laid out as a plan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.core.commands import CommandFamily, Context, Speaker
from bot.core.errors import CommandError
from bot.core.messages import Reply, Section, Tone
from bot.core.render.text import shorten
from bot.vocab.arguments import OnceEach, parse_id, parse_mention, unquote
from bot.vocab.durations import format_minutes, is_estimate, parse_estimate
from bot.vocab.when import parse_date, split_trailing_date
from handlers.day_plan import DayPlan, plan_day
from handlers.records import load_record
from handlers.team import resolve_member
from storage import members as member_store
from storage import tasks as task_store
from storage.models import TITLE_MAX_LENGTH, Task

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


def parse_quadrant(word: str) -> str | None:
    """`q1`…`q4` (or the Chinese matrix names); raises for `q7`, None for other words."""
    folded = word.casefold()
    if folded in QUADRANT_WORDS:
        return QUADRANT_WORDS[folded]
    if len(folded) == 2 and folded[0] == "q" and folded[1].isdigit():
        raise CommandError("task.error.bad_quadrant", value=word)
    return None


def read_task_words(ctx: Context, words: list[str]) -> tuple[str, TaskOptions]:
    """`<text> [q1-q4] [~duration] [@member] [<date>]`: the text and the options given.

    The options are read from the end of the line (in any order there, each once); words
    before them are the text, so "Plan Q1 campaign" and "和 @bob 对齐选题" keep their
    words. A text that ends in something option-like is quoted: `"复盘 q3" q1`.
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
            rest, day = split_trailing_date(words, today=ctx.today())
            if day is None:
                break
            given.give("date", " ".join(words[len(rest) :]))
            found.day, words = day, rest
            continue
        words.pop()
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
) -> Task:
    """An unsaved task from `<text> [q1-q4] [~duration] [@member] [<date>]`."""
    text, found = read_task_words(ctx, words)
    if not text:
        raise CommandError("task.error.missing_text")
    now = ctx.now()
    return Task(
        team_id=ctx.team.id,
        owner=(found.owner or default_owner).id,
        text=text,
        quadrant=found.quadrant or DEFAULT_QUADRANT,
        estimate_minutes=found.estimate,
        day=found.day or default_day,
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


def estimate_text(ctx: Context, minutes: int | None) -> str:
    if not minutes:
        return ctx.t("task.no_estimate")
    return format_minutes(minutes)


def hours_text(minutes: int) -> str:
    """Hours to a tenth: `13.4` rather than `13.4167`."""
    return f"{round(minutes / 60, 1):g}"


def plan_rows(ctx: Context, plan: DayPlan) -> list[tuple[str, ...]]:
    """`Q1  09:30–11:30  写推文初稿 (2h)  #3  ↩ 已顺延 2 天`"""
    rows: list[tuple[str, ...]] = []
    for item in plan.items:
        slot = (
            f"{item.start.strftime('%H:%M')}–{item.end.strftime('%H:%M')}"
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


def _plan_for(ctx: Context, member: Speaker, day: date) -> DayPlan:
    today = ctx.today()
    tasks = task_store.tasks_for_day(
        ctx.session, team_id=ctx.team.id, day=day, today=today, owner=member.id
    )
    return plan_day(tasks, day=day, workday=ctx.team.workday)


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
    names = member_store.member_names(ctx.session, team_id=ctx.team.id)
    day = (
        ctx.t("task.today_on", day=ctx.day_text(task.day))
        if task.day == today
        else ctx.day_text(task.day)
    )
    return Reply(
        ctx.t(
            "task.added",
            id=task.id,
            text=task.text,
            quadrant=task.quadrant.upper(),
            estimate=estimate_text(ctx, task.estimate_minutes),
            name=names.get(task.owner, task.owner),
            day=day,
        ),
        tone=Tone.SUCCESS,
    )


@family.subcommand("list", "列表", "ls", reads_only=True)
def list_tasks(ctx: Context, args: list[str]) -> Reply:
    today = ctx.today()
    members: list[Speaker] = [ctx.member]
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
        plan = _plan_for(ctx, member, day)
        section = Section(title=plan_heading(ctx, member.name, plan), rows=plan_rows(ctx, plan))
        if plan.done:
            section.lines.append(ctx.t("task.done_count", count=len(plan.done)))
        sections.append(section)
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
    """`/task edit 3 [text] [q1] [~2h] [@bob] [<date>]`: changes only what is given."""
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
    task.updated_at = ctx.now()
    names = member_store.member_names(ctx.session, team_id=ctx.team.id)
    return Reply(
        ctx.t(
            "task.edited", id=task.id, text=task.text, quadrant=task.quadrant.upper(),
            estimate=estimate_text(ctx, task.estimate_minutes),
            name=names.get(task.owner, task.owner), day=ctx.day_text(task.day),
        ),
        tone=Tone.SUCCESS,
    )  # fmt: skip
