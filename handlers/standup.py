"""`/standup` (`/站会`): the daily stand-up — answers, who is missing, and blockers.

An answer is free text or `yesterday: … | today: … | blockers: …` (昨天：… | 今天：… |
阻碍：…). Answering again the same day replaces only the parts it names (`/站会 阻碍：…`
keeps yesterday and today), so fixing one part never wipes the others. With `+tasks`
(`+任务`) each item under `today` (split at commas) also becomes one of today's tasks, and
may carry a quadrant and an estimate: `today: 写推文初稿 q1 ~2h，回复留言 q3 ~30m +tasks`;
an item that already is one of that day's tasks is not added twice. An item that is only
ids (`#12`, `#12 #14`) names items of the week's or month's plan, which are taken into
today as `/task today 12 14` takes them; the morning prompt offers the ones that fit.

`show` (查看) and `edit` (修改) are sub-commands, and `help` (帮助) shows this family's
help: none of them is ever stored as an answer. Because `查看 数据` or `修改 推文` may well
be someone's plan for the day, such a word followed by text is refused (with the way to
say either thing) rather than guessed — except `edit` followed by labelled parts.
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
from bot.core.messages import Button, Form, FormField, Reply, Section, Tone
from bot.core.router import FAMILY_HELP_WORDS
from handlers.help import family_help
from handlers.tasks import (
    plan_offers,
    standup_offer_line,
    take_today,
    task_from_words,
    tasks_to_take_today,
)
from storage import members as member_store
from storage import standups as standup_store
from storage import tasks as task_store
from storage.members import MemberLine
from storage.models import Standup, Task, TaskFields
from storage.standups import StandupLine

family = CommandFamily("standup", aliases=("站会",))

FIELD_MAX_LENGTH = 2000
PARTS = ("yesterday", "today", "blockers")
QUOTED_TEXT_MAX_LENGTH = 60  # how much of a refused text a reply repeats
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
_PLAN_REFERENCE = re.compile(r"#[0-9]+")


@dataclass(frozen=True)
class StandupAnswer:
    """The three parts of an answer, and which parts the text named.

    A named part may be empty (`blockers: none`): answering again then clears it, while a
    part the text did not name keeps what was stored. `given` defaults to empty only so
    that code building an answer by hand keeps working.
    """

    yesterday: str | None
    today: str | None
    blockers: str | None
    given: frozenset[str] = frozenset()

    def part(self, name: str) -> str | None:
        value: str | None = getattr(self, name)
        return value


def parse_standup(text: str) -> StandupAnswer:
    """Split an answer into its three parts; text without labels is what today holds."""
    fields: dict[str, list[str]] = {}
    named: set[str] = set()
    current = "today"
    for part in _PARTS.split(text.strip()):
        match = _LABELLED.match(part)
        if match and match.group(1).casefold() in _LABELS:
            current = _LABELS[match.group(1).casefold()]
            part = match.group(2)
            named.add(current)
        if part.strip():
            fields.setdefault(current, []).append(part.strip())
            named.add(current)

    def joined(name: str) -> str | None:
        value = "; ".join(fields.get(name, []))
        if value.casefold() in _NOTHING:
            return None
        if len(value) > FIELD_MAX_LENGTH:
            raise CommandError("standup.error.too_long", max=FIELD_MAX_LENGTH)
        return value

    return StandupAnswer(
        joined("yesterday"), joined("today"), joined("blockers"), given=frozenset(named)
    )


def starts_with_label(text: str) -> bool:
    """Whether the first part of an answer names its part (`today: …`), which is what makes
    `edit <text>` unambiguous: `修改 推文` may be today's plan, `修改 今天：推文` is not."""
    first = _PARTS.split(text.strip(), maxsplit=1)[0]
    match = _LABELLED.match(first)
    return bool(match and match.group(1).casefold() in _LABELS)


def is_away(member: MemberLine, day: date) -> bool:
    return bool(member.away_from and member.away_to and member.away_from <= day <= member.away_to)


def standup_prompt_recipients(
    members: Iterable[MemberLine], *, now: datetime, zone: ZoneInfo
) -> list[str]:
    """Who the morning stand-up prompt goes to: everyone who is not away today."""
    day = now.astimezone(zone).date()
    return [member.id for member in members if not is_away(member, day)]


def standup_missing(
    members: Iterable[MemberLine], standups: Iterable[StandupLine], *, now: datetime, zone: ZoneInfo
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
    names = member_store.member_names(ctx.session, team_id=ctx.team.id)
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


def _quoted(text: str) -> str:
    if len(text) <= QUOTED_TEXT_MAX_LENGTH:
        return text
    return text[: QUOTED_TEXT_MAX_LENGTH - 1] + "…"


def _typed_word(ctx: Context, fallback: str) -> str:
    """The sub-word as the speaker typed it (`查看` or `show`), for a refusal to repeat."""
    words = ctx.command.text.split()
    return words[1] if len(words) > 1 else fallback


def _text_after_word(ctx: Context, word: str, args: list[str]) -> CommandError:
    """`查看 数据` could be a plan for the day or a slip: store nothing, say both ways."""
    return CommandError(
        "standup.error.text_after_word",
        word=word,
        text=_quoted(" ".join(args)),
        show_usage=False,
    )


def _part_names(ctx: Context, names: Iterable[str]) -> str:
    wanted = set(names)
    return ctx.t("standup.part_separator").join(
        ctx.t(f"standup.part.{name}") for name in PARTS if name in wanted
    )


@dataclass
class AnswerTasks:
    """What `+tasks` makes of the items under today: new tasks (unsaved), plan items to
    take into today, and the ones already in today's timeline."""

    new: list[TaskFields]
    from_plan: list[Task]
    already: list[Task]


def _tasks_of_answer(ctx: Context, answer: StandupAnswer, day: date) -> AnswerTasks:
    """Every item under today as an unsaved task, or (`#12`) a plan item to take into
    today; a bad item rejects the whole answer.

    An item too long for a task is named as such: the person wrote a stand-up line, not a
    title, so "the title is too long" would not tell them what to change.
    """
    if not answer.today:
        raise CommandError("standup.error.no_today_items")
    items = [item for item in _ITEMS.split(answer.today) if item.strip()]
    tasks = AnswerTasks([], [], [])
    for number, item in enumerate(items, start=1):
        words = item.split()
        if all(_PLAN_REFERENCE.fullmatch(word) for word in words):
            taken, already = tasks_to_take_today(ctx, words)
            tasks.from_plan += [task for task in taken if task not in tasks.from_plan]
            tasks.already += [task for task in already if task not in tasks.already]
            continue
        try:
            tasks.new.append(task_from_words(ctx, words, default_owner=ctx.member, default_day=day))
        except CommandError as error:
            if error.message_key != "errors.title_too_long":
                raise
            raise CommandError(
                "standup.error.item_too_long", show_usage=False, number=number, **error.params
            ) from None
    return tasks


def _save_answer(ctx: Context, args: list[str]) -> Reply:
    """Store the parts the words name, keep the others, and make tasks if asked.

    Everything that can be refused (an empty answer, a bad task item) is checked before
    anything is written, so a refusal stores nothing.
    """
    make_tasks = any(word.casefold() in TASK_FLAGS for word in args)
    text = " ".join(word for word in args if word.casefold() not in TASK_FLAGS)
    answer = parse_standup(text)
    today = ctx.today()
    existing = standup_store.get_standup(
        ctx.session, team_id=ctx.team.id, member=ctx.member.id, day=today
    )
    stored = {
        name: answer.part(name)
        if name in answer.given or existing is None
        else getattr(existing, name)
        for name in PARTS
    }
    if not answer.given or not any(stored.values()):
        raise CommandError("standup.error.empty")
    tasks = _tasks_of_answer(ctx, answer, today) if make_tasks else AnswerTasks([], [], [])

    before = {name: getattr(existing, name) for name in PARTS} if existing else {}
    row = existing
    if row is None:
        row = Standup(team_id=ctx.team.id, member=ctx.member.id, day=today, answered_at=ctx.now())
        ctx.session.add(row)
    row.yesterday, row.today, row.blockers = (stored[name] for name in PARTS)
    row.answered_at = ctx.now()

    added: list[TaskFields] = []
    already: list[TaskFields] = list(tasks.already)
    take_today(ctx, tasks.from_plan)
    for task in tasks.new:
        # The same item answered again (or listed twice) is the task made the first time.
        same = task_store.find_same_task(
            ctx.session, team_id=task.team_id, owner=task.owner, day=task.day, text=task.text,
            week=task.week, month=task.month,
        )  # fmt: skip
        if same is None:
            added.append(task_store.add_task(ctx.session, task))
        else:
            already.append(same)

    if existing is None:
        title = ctx.t("standup.saved", name=ctx.member.name, date=today.strftime("%m-%d"))
    else:
        title = ctx.t(
            "standup.updated",
            name=ctx.member.name,
            date=today.strftime("%m-%d"),
            parts=_part_names(ctx, answer.given),
        )
    lines = _answer_sections(ctx, row)
    cleared = [name for name in answer.given if before.get(name) and not stored[name]]
    if cleared:
        lines.append(ctx.t("standup.cleared", parts=_part_names(ctx, cleared)))
    if added:
        lines.append(ctx.t("standup.tasks_added", ids=" ".join(f"#{task.id}" for task in added)))
    if tasks.from_plan:
        items = ctx.t("standup.part_separator").join(
            f"{task.text} #{task.id}" for task in tasks.from_plan
        )
        lines.append(ctx.t("standup.tasks_from_plan", items=items))
    if already:
        items = ctx.t("standup.part_separator").join(f"{task.text} #{task.id}" for task in already)
        lines.append(ctx.t("standup.tasks_existing", items=items))
    return Reply(title, tone=Tone.SUCCESS, sections=[Section(lines=lines)])


@family.default_handler()
def standup(ctx: Context, args: list[str]) -> Reply:
    """No words: who answered. `help` (帮助, ?): this family's help. Else: an answer."""
    if not args:
        return _status(ctx)
    if args[0].casefold() in FAMILY_HELP_WORDS:
        if len(args) > 1:
            raise _text_after_word(ctx, args[0], args[1:])
        return family_help(ctx, family)
    meant = _mistyped_subcommand(args[0])
    if meant is not None and not starts_with_label(" ".join(args)):
        raise CommandError("standup.error.looks_like_command", word=args[0][:30], meant=meant,
                           text=_quoted(" ".join(args)), show_usage=False)  # fmt: skip
    return _save_answer(ctx, args)


def _mistyped_subcommand(word: str) -> str | None:
    """The sub-command a first word was most likely meant as (`histroy`, `历时`,
    `历史记录`), so that a slip never replaces today's answer with the command's words.

    A word is taken for a slip when it is a spelling with up to two more characters
    (`历史记录`, `shows`), or, for a spelling in letters of five or more, at most two
    letters away from it (`histroy`). Shorter names are too near ordinary words (`from`
    is one letter from `form`, `表格` one character from `表单`) to be judged so. An answer
    that truly starts so is told how to say it with a label.
    """
    folded = word.casefold()
    for subcommand in family.subcommands:
        for spelling in subcommand.spellings:
            name = spelling.casefold()
            longer = folded != name and folded.startswith(name) and len(folded) - len(name) <= 2
            near = name.isascii() and len(name) >= 5 and 0 < _distance(folded, name) <= 2
            if longer or near:
                return spelling
    return None


def _distance(a: str, b: str) -> int:
    """Levenshtein distance (small words only: a first word against a sub-command)."""
    if abs(len(a) - len(b)) > 2:
        return 3
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (char_a != char_b)))  # fmt: skip
        previous = current
    return previous[-1]


@family.subcommand("show", "查看")
def show_answer(ctx: Context, args: list[str]) -> Reply:
    """Your answer today as stored — to check it before changing one part of it."""
    if args:
        raise _text_after_word(ctx, _typed_word(ctx, "show"), args)
    today = ctx.today()
    row = standup_store.get_standup(
        ctx.session, team_id=ctx.team.id, member=ctx.member.id, day=today
    )
    if row is None:
        return Reply(ctx.t("standup.show.none", date=today.strftime("%m-%d")))
    title = ctx.t(
        "standup.show.title",
        name=ctx.member.name,
        date=today.strftime("%m-%d"),
        time=ctx.local(row.answered_at).strftime("%H:%M"),
    )
    return Reply(title, sections=[Section(lines=_answer_sections(ctx, row))])


@family.subcommand("edit", "修改")
def edit_answer(ctx: Context, args: list[str]) -> Reply:
    """Alone: how to change an answer. With labelled parts: the same as answering again.

    Unlabelled text after `edit` is refused: `修改 推文初稿` reads as a plan ("revise the
    draft") as well as an edit of today, and the bot does not guess which.
    """
    if not args:
        row = standup_store.get_standup(
            ctx.session, team_id=ctx.team.id, member=ctx.member.id, day=ctx.today()
        )
        sections = []
        if row is not None:
            sections.append(
                Section(title=ctx.t("standup.edit.current"), lines=_answer_sections(ctx, row))
            )
        return Reply(ctx.t("standup.edit.how"), sections=sections)
    text = " ".join(word for word in args if word.casefold() not in TASK_FLAGS)
    if text and not starts_with_label(text):
        raise CommandError(
            "standup.error.edit_needs_label",
            word=_typed_word(ctx, "edit"),
            text=_quoted(text),
            show_usage=False,
        )
    return _save_answer(ctx, args)


# -- the stand-up as a conversation in the direct message ---------------------------------

SKIP_WORDS = {"skip", "pass", "跳过", "略过", "-"}
FORM_COMMAND = "/standup form"


def _next_part(row: Standup | None) -> str | None:
    """The first part not answered yet today (a skipped part holds "")."""
    if row is None:
        return PARTS[0]
    return next((name for name in PARTS if getattr(row, name) is None), None)


def _ask(ctx: Context, part: str | None) -> list[str]:
    return [ctx.t(f"standup.ask.{part}")] if part else []


@family.conversation_handler()
def converse(ctx: Context, args: list[str]) -> Reply:
    """A plain reply in the direct message: the answer to the question the bot asked.

    Yesterday, today, then blockers, one message each — or all at once with labels
    (`昨天：… | 今天：…`). `跳过`/`skip` passes a part. Once all three are in, a later
    reply changes today's plan (say `阻碍：…` to change another part).
    """
    text = ctx.command.text.strip()
    today = ctx.today()
    row = standup_store.get_standup(
        ctx.session, team_id=ctx.team.id, member=ctx.member.id, day=today
    )
    if starts_with_label(text):
        reply = _save_answer(ctx, text.split())
    else:
        part = _next_part(row) or "today"
        if text.casefold() in SKIP_WORDS:
            if row is None:
                row = Standup(
                    team_id=ctx.team.id, member=ctx.member.id, day=today, answered_at=ctx.now()
                )
                ctx.session.add(row)
            setattr(row, part, "")
            row.answered_at = ctx.now()
            ctx.session.flush()
            reply = Reply(
                ctx.t("standup.skipped", part=ctx.t(f"standup.part.{part}")), tone=Tone.SUCCESS
            )
        else:
            reply = _save_answer(ctx, [f"{part}:", *text.split()])
    row = standup_store.get_standup(
        ctx.session, team_id=ctx.team.id, member=ctx.member.id, day=today
    )
    following = _next_part(row)
    if following is None:
        reply.title = ctx.t("standup.recorded", name=ctx.member.name, date=ctx.day_text(today))
    reply.sections.append(Section(lines=_ask(ctx, following)))
    return reply


@family.subcommand("form", "表单", reads_only=True)
def standup_form(ctx: Context, args: list[str]) -> Reply:
    """The stand-up as a form, prefilled: yesterday's plan as what was done, today's open
    tasks as the plan. Platforms with forms show it (a Slack modal); others, the text."""
    today = ctx.today()
    row = standup_store.get_standup(
        ctx.session, team_id=ctx.team.id, member=ctx.member.id, day=today
    )
    before = standup_store.latest_before(
        ctx.session, team_id=ctx.team.id, member=ctx.member.id, day=today
    )
    open_tasks = [
        task.text
        for task in task_store.tasks_for_day(
            ctx.session, team_id=ctx.team.id, day=today, today=today, owner=ctx.member.id
        )
        if task.status == "open"
    ]
    values = {
        "yesterday": (row.yesterday if row else None) or (before.today if before else "") or "",
        "today": (row.today if row else None) or "，".join(open_tasks),
        "blockers": (row.blockers if row else None) or "",
    }
    form = Form(
        form_id="standup",
        title=ctx.t("standup.form.title"),
        submit_command="/standup",
        fields=tuple(
            FormField(
                name,
                ctx.t(f"standup.form.{name}"),
                values[name],
                prefix=f"{name}:",
                optional=name != "today",
            )
            for name in PARTS
        ),
    )
    lines = [f"{item.label}：{item.value or '–'}" for item in form.fields]
    lines.append(ctx.t("standup.form.how"))
    return Reply(form.title, sections=[Section(lines=lines)], form=form)


def _standup_prompts(ctx: Context, day: date) -> list[Outgoing]:
    """The first question, by direct message, and the plan items today still has room
    for (`#4 #8`, which an answer's today with `+tasks` takes in)."""
    members = member_store.list_members(ctx.session, team_id=ctx.team.id)
    names = {m.id: m.name for m in members}
    recipients = standup_prompt_recipients(members, now=ctx.now(), zone=ctx.team.zone)
    offers = plan_offers(ctx, recipients)
    prompts = []
    for m in recipients:
        lines = [ctx.t("standup.ask.yesterday"), ctx.t("standup.how")]
        if m in offers:
            lines.append(standup_offer_line(ctx, offers[m]))
        prompts.append(
            Outgoing(
                member_target(m),
                Reply(
                    ctx.t("scheduler.standup_prompt", name=names[m]),
                    sections=[Section(lines=lines)],
                    buttons=[Button(ctx.t("button.answer"), FORM_COMMAND, "primary")],
                ),
            )
        )
    return prompts


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
