"""`/standup history` (`/站会 历史`): a range of stand-ups read back, per person.

What a lead reads before a one-to-one: each workday's answer, the days that had none,
participation, and every blocker with what became of it. A blocker is *still open* when
the member's answer on the next workday names it again, *resolved* when that answer
does not, and *unknown* while there is no such answer yet (the next workday has not come,
or they did not answer it).

"Names it again" is decided item by item (blockers split at commas, as `today` is): two
items are the same when one contains the other or they are at least 60% alike once case,
spaces and punctuation are set aside — `等设计稿` and `还在等设计稿`, `API down` and
`api still down`. Anything looser would call a new blocker an old one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from difflib import SequenceMatcher
from enum import StrEnum

from bot.core.commands import Context, Speaker
from bot.core.errors import CommandError
from bot.core.messages import Reply, Section
from bot.vocab.arguments import parse_mention
from bot.vocab.numbers import format_percent
from bot.vocab.when import parse_date, week_bounds
from handlers.standup import family, is_away
from handlers.tasks import EVERYONE_WORDS, MINE_WORDS
from handlers.team import resolve_member
from storage import members as member_store
from storage import standups as standup_store
from storage.members import MemberLine
from storage.models import Member, Standup
from storage.speakers import MemberRecord

MAX_DAYS = 92  # a quarter: longer is a report, not a chat reply
ALIKE = 0.6  # how alike two blocker items must be to be one blocker named again
WEEK_WORDS = {"week", "本周", "这周"}
LAST_WEEK_WORDS = {"last-week", "lastweek", "上周"}
MONTH_WORDS = {"month", "本月", "这个月"}
LAST_MONTH_WORDS = {"last-month", "lastmonth", "上月", "上个月"}
_ITEMS = re.compile(r"\s*[,，、;；]\s*")
_NOISE = re.compile(r"[\W_]+", re.UNICODE)
_NOTHING = {"", "-", "–", "无", "没有", "none", "n/a", "no"}


class Blocker(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Day:
    """One expected workday of a member: their answer, or why there is none."""

    day: date
    answer: Standup | None
    away: bool = False
    blocker: Blocker | None = None  # what became of this day's blocker, if it had one
    repeated_on: date | None = None  # the next workday that named it again


@dataclass
class MemberHistory:
    member: MemberLine
    days: list[Day] = field(default_factory=list)

    @property
    def expected(self) -> int:
        return sum(1 for day in self.days if not day.away)

    @property
    def answered(self) -> int:
        return sum(1 for day in self.days if day.answer is not None)

    def _chains(self) -> list[list[Day]]:
        """The days of each blocker: a blocker named again the next workday is the same
        one, so `等设计稿` on Monday and `还在等设计稿` on Tuesday count once."""
        chains: list[list[Day]] = []
        carried = False
        for day in self.days:
            if day.blocker is None:
                carried = False
                continue
            if carried:
                chains[-1].append(day)
            else:
                chains.append([day])
            carried = day.blocker is Blocker.OPEN
        return chains

    @property
    def blockers(self) -> int:
        return len(self._chains())

    @property
    def still_open(self) -> int:
        """Blockers whose last day is not known to be resolved."""
        return sum(1 for chain in self._chains() if chain[-1].blocker is not Blocker.RESOLVED)


def blocker_items(text: str | None) -> list[str]:
    """A blocker's items, each folded for comparing; none for `无`, `none` …"""
    if text is None or text.strip().casefold() in _NOTHING:
        return []
    items = (_NOISE.sub("", item).casefold() for item in _ITEMS.split(text.strip()))
    return [item for item in items if item]


def names_again(earlier: str | None, later: str | None) -> bool:
    """Whether `later` names one of the blockers of `earlier` again (see the module)."""
    later_items = blocker_items(later)
    for old in blocker_items(earlier):
        for new in later_items:
            if old in new or new in old or SequenceMatcher(None, old, new).ratio() >= ALIKE:
                return True
    return False


def _next_workday(ctx: Context, day: date) -> date:
    following = day + timedelta(days=1)
    while not ctx.team.is_workday(following):
        following += timedelta(days=1)
    return following


def _joined(ctx: Context, member: MemberLine) -> date:
    return ctx.local(member.created_at).date()


def member_history(
    ctx: Context,
    member: MemberLine,
    answers: dict[date, Standup],
    *,
    start: date,
    end: date,
) -> MemberHistory:
    """The member's workdays in [start, end] up to today, from the day they joined;
    `answers` are theirs, and reach one workday past `end` so the last blocker can be
    told apart."""
    history = MemberHistory(member)
    today = ctx.today()
    first = max(start, _joined(ctx, member))
    day = first
    while day <= min(end, today):
        answer = answers.get(day)
        if ctx.team.is_workday(day) or answer is not None:
            blocker, repeated = None, None
            if answer is not None and blocker_items(answer.blockers):
                following = _next_workday(ctx, day)
                after = answers.get(following)
                if after is None:
                    blocker = Blocker.UNKNOWN
                elif names_again(answer.blockers, after.blockers):
                    blocker, repeated = Blocker.OPEN, following
                else:
                    blocker = Blocker.RESOLVED
            away = answer is None and is_away(member, day)
            history.days.append(Day(day, answer, away, blocker, repeated))
        day += timedelta(days=1)
    return history


def stored(speaker: Speaker) -> MemberLine:
    """The speaker as storage read it (their join date is needed): a handler's speaker
    always is a `Member` or a `MemberRecord`; the core only knows it by a protocol."""
    assert isinstance(speaker, Member | MemberRecord)
    return speaker


_PHRASES = {
    ("last", "week"): "last-week", ("this", "week"): "week", ("last", "month"): "last-month",
    ("this", "month"): "month", ("last",): "last-week",
}  # fmt: skip
RANGE_WORDS = WEEK_WORDS | LAST_WEEK_WORDS | MONTH_WORDS | LAST_MONTH_WORDS


def parse_range(ctx: Context, words: list[str]) -> tuple[date, date]:
    """`week` (default), `last-week` (`last week`, `last`), `month`, `last-month`, or two
    dates; two ranges at once are refused, not one of them picked."""
    today = ctx.today()
    phrase = _PHRASES.get(tuple(word.casefold() for word in words))
    if phrase is not None:
        words = [phrase]
    if len(words) > 1 and any(word.casefold() in RANGE_WORDS for word in words):
        raise CommandError("standup.history.error.two_ranges", value=" ".join(words)[:40])
    if not words or (len(words) == 1 and words[0].casefold() in WEEK_WORDS):
        return week_bounds(today)[0], today
    if len(words) == 1:
        word = words[0].casefold()
        if word in LAST_WEEK_WORDS:
            return week_bounds(today - timedelta(days=7))
        if word in MONTH_WORDS:
            return today.replace(day=1), today
        if word in LAST_MONTH_WORDS:
            last = today.replace(day=1) - timedelta(days=1)
            return last.replace(day=1), last
    if len(words) != 2:
        raise CommandError("standup.history.error.bad_range", value=" ".join(words)[:40])
    start, end = parse_date([words[0]], today=today), parse_date([words[1]], today=today)
    if start > end:
        raise CommandError("standup.history.error.backwards", start=words[0], end=words[1])
    if (end - start).days + 1 > MAX_DAYS:
        raise CommandError("standup.history.error.too_long", days=(end - start).days + 1,
                           max=MAX_DAYS)  # fmt: skip
    return start, end


@family.subcommand("history", "历史", reads_only=True)
def standup_history(ctx: Context, args: list[str]) -> Reply:
    """`[@member|all] [<from> <to>|week|month]`: your own week unless told otherwise."""
    members: list[MemberLine] | None = [stored(ctx.member)]
    rest, whos = [], []
    for word in args:
        mention = parse_mention(word)
        if mention is not None:
            members = [stored(resolve_member(ctx, mention))]
        elif word.casefold() in EVERYONE_WORDS:
            members = None
        elif word.casefold() in MINE_WORDS:
            members = [stored(ctx.member)]
        else:
            rest.append(word)
            continue
        whos.append(word)
    if len(whos) > 1:  # `@bob @carol`: one of them, or everyone? not guessed
        raise CommandError("errors.two_members", words=" ".join(whos)[:40])
    start, end = parse_range(ctx, rest)
    rows = standup_store.standups_between(
        ctx.session, team_id=ctx.team.id, start=start, end=_next_workday(ctx, end)
    )
    by_member: dict[str, dict[date, Standup]] = {}
    for row in rows:
        by_member.setdefault(row.member, {})[row.day] = row
    if members is None:
        active = list(member_store.list_members(ctx.session, team_id=ctx.team.id))
        known = {member.id for member in active}
        # Someone who left since still has their answers of the range shown.
        gone = [
            member
            for member_id in sorted(set(by_member) - known)
            if (member := member_store.get_member(
                ctx.session, team_id=ctx.team.id, member_id=member_id)) is not None
        ]  # fmt: skip
        members = active + gone
    histories = [
        member_history(ctx, member, by_member.get(member.id, {}), start=start, end=end)
        for member in members
    ]
    return render_history(ctx, histories, start=start, end=end, everyone=len(members) != 1)


def render_history(
    ctx: Context, histories: list[MemberHistory], *, start: date, end: date, everyone: bool
) -> Reply:
    t = ctx.t
    who = t("standup.history.everyone") if everyone else histories[0].member.name
    title = t("standup.history.title", who=who, start=start.strftime("%m-%d"),
              end=end.strftime("%m-%d"))  # fmt: skip
    sections = []
    for history in histories:
        heading = t(
            "standup.history.member",
            name=history.member.name,
            answered=history.answered,
            expected=history.expected,
            rate=format_percent(history.answered / history.expected if history.expected else None,
                                digits=0),
            blockers=history.blockers,
            open=history.still_open,
        )  # fmt: skip
        lines = [_day_line(ctx, day) for day in history.days]
        sections.append(Section(title=heading, lines=lines or [t("standup.history.no_days")]))
    return Reply(title, sections=sections)


def _day_line(ctx: Context, day: Day) -> str:
    t = ctx.t
    when = t("standup.history.day", **ctx.day_label(day.day))
    if day.answer is None:
        return t("standup.history.away" if day.away else "standup.history.none", day=when)
    parts = [
        t(f"standup.history.part.{name}", value=value)
        for name in ("yesterday", "today", "blockers")
        if (value := getattr(day.answer, name))
    ]
    line = t("standup.history.answer", day=when, parts=" · ".join(parts))
    if day.blocker is Blocker.OPEN and day.repeated_on is not None:
        line += t("standup.history.still_open", day=day.repeated_on.strftime("%m-%d"))
    elif day.blocker is Blocker.RESOLVED:
        line += t("standup.history.resolved")
    elif day.blocker is Blocker.UNKNOWN:
        line += t("standup.history.unknown")
    return line
