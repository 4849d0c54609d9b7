"""`/publish series` (`/发布 栏目`): recurring columns — every Wednesday's 读书会.

A series keeps its next `keep` (4) occurrences planned as ordinary posts, each going
through the two-step confirmation like any other. The rule is read strictly (`每周三
20:00`, `every fri 18:00`, `每月1号 10:00`) and echoed back with its next day, or refused.

Each occurrence is one row of `series_occurrences` (series, day), claimed before its post
is made: so it is planned once, whichever of several ticks (or a tick and a command) gets
there first, and stays planned when its post is skipped (cancelled) or moved alone with
`/publish move`. As time passes the daily `SERIES_TOPUP` job plans what is missing of the
next `keep`. Ending a series cancels its future posts and keeps the past ones.

The router has no nested sub-commands: `series` is a sub-command of `/publish` whose
first word is the action (`add`, `list`, `skip`, `end`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.core.commands import Context, Speaker
from bot.core.errors import CommandError
from bot.core.jobs import CronJob, Outgoing
from bot.core.messages import Reply, Section, Tone
from bot.vocab.arguments import OnceEach, parse_mention, parse_platform, split_option, unquote
from bot.vocab.errors import InputError
from bot.vocab.when import local_instant, looks_like_date, parse_when
from handlers.publish import (
    REVIEWER_ROLES,
    cancel_post,
    check_title,
    member_names,
    quoted_title,
)
from handlers.publish import (
    family as publish_family,
)
from handlers.records import load_record
from handlers.team import resolve_member
from storage import posts as post_store
from storage import series as series_store
from storage.models import Post, Series

DEFAULT_KEEP = 4
MONTH_DAY_MAX = 28  # every month has it: 每月29–31号 would skip months
ACTION_WORDS = {
    "add": ("add", "新增"),
    "list": ("list", "列表", "ls"),
    "skip": ("skip", "跳过"),
    "end": ("end", "结束"),
}
ALL_WORDS = {"all", "全部"}
CHINESE_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
ENGLISH_WEEKDAYS = {
    "mon": 0, "monday": 0, "tue": 1, "tues": 1, "tuesday": 1, "wed": 2, "weds": 2,
    "wednesday": 2, "thu": 3, "thur": 3, "thurs": 3, "thursday": 3, "fri": 4, "friday": 4,
    "sat": 5, "saturday": 5, "sun": 6, "sunday": 6,
}  # fmt: skip
_WEEKLY_ZH = re.compile(r"每(?:周|星期|週)([一二三四五六日天])(.*)")
_MONTHLY_ZH = re.compile(r"每月(\d{1,2})[号日](.*)")
_MONTH_DAY_WORD = re.compile(r"(\d{1,2})(?:st|nd|rd|th|[号日])?", re.IGNORECASE)
_FILLER = {"at", "on", "the", "day"}


@dataclass(frozen=True)
class Rule:
    """What a series' rule means: weekly on `weekday`, or monthly on `month_day`, at `at`."""

    kind: str  # weekly | monthly
    at: time
    weekday: int | None = None
    month_day: int | None = None


def _starts_rule(word: str) -> bool:
    folded = word.casefold()
    return bool(
        _WEEKLY_ZH.fullmatch(word) or _MONTHLY_ZH.fullmatch(word) or word == "每月"
        or folded in ("every", "monthly")
    )  # fmt: skip


def parse_rule(words: Sequence[str], *, now: datetime, zone: ZoneInfo) -> Rule:
    """`每周三 20:00`, `every wed 8pm`, `每月1号 10:00`, `monthly 15th 20:00`; refused
    otherwise, naming what was not understood."""
    shown = " ".join(words)[:40]
    rest = list(words)
    first = rest.pop(0) if rest else ""
    weekday = month_day = None
    if found := _WEEKLY_ZH.fullmatch(first):
        weekday = CHINESE_WEEKDAYS[found.group(1)]
        rest[:0] = [found.group(2)] if found.group(2) else []
    elif found := _MONTHLY_ZH.fullmatch(first):
        month_day = int(found.group(1))
        rest[:0] = [found.group(2)] if found.group(2) else []
    else:
        folded = first.casefold()
        if first == "每月" or folded in ("every", "monthly"):
            rest = [word for word in rest if word.casefold() not in _FILLER]
            head = rest.pop(0).casefold() if rest else ""
            if folded == "every" and head in ENGLISH_WEEKDAYS:
                weekday = ENGLISH_WEEKDAYS[head]
            else:
                if folded == "every" and head == "month":
                    rest = [word for word in rest if word.casefold() not in _FILLER]
                    head = rest.pop(0).casefold() if rest else ""
                elif folded == "every":
                    raise CommandError("series.error.bad_rule", value=shown)
                day_word = _MONTH_DAY_WORD.fullmatch(head)
                if day_word is None:
                    raise CommandError("series.error.bad_rule", value=shown)
                month_day = int(day_word.group(1))
        else:
            raise CommandError("series.error.bad_rule", value=shown)
    if month_day is not None and not 1 <= month_day <= MONTH_DAY_MAX:
        raise CommandError("series.error.month_day", day=month_day, max=MONTH_DAY_MAX)
    rest = [word for word in rest if word.casefold() != "at"]
    if not rest:
        raise CommandError("series.error.missing_time", value=shown)
    if any(looks_like_date(word, today=now.date()) for word in rest):
        raise CommandError("series.error.bad_rule", value=shown)
    at = parse_when(rest, now=now, zone=zone).astimezone(zone).time()
    if month_day is not None:
        return Rule("monthly", at.replace(second=0, microsecond=0), month_day=month_day)
    return Rule("weekly", at.replace(second=0, microsecond=0), weekday=weekday)


def rule_of(series: Series) -> Rule:
    hour, minute = (int(part) for part in series.at.split(":"))
    return Rule(series.kind, time(hour, minute), series.weekday, series.month_day)


def rule_text(ctx: Context, rule: Rule) -> str:
    """`每周三 20:00` / `every Wed 20:00`: the rule as the bot understood it."""
    at = rule.at.strftime("%H:%M")
    if rule.kind == "weekly":
        return ctx.t("series.rule.weekly", weekday=ctx.t(f"weekday.{rule.weekday}"), at=at)
    return ctx.t("series.rule.monthly", day=rule.month_day, at=at)


def occurrences_after(
    rule: Rule, after: datetime, *, zone: ZoneInfo, count: int
) -> list[tuple[date, datetime]]:
    """The rule's next `count` days after `after`, with their instants."""
    found: list[tuple[date, datetime]] = []
    day = after.astimezone(zone).date()
    if rule.kind == "weekly":
        assert rule.weekday is not None
        day += timedelta(days=(rule.weekday - day.weekday()) % 7)
        step = lambda current: current + timedelta(days=7)  # noqa: E731
    else:
        assert rule.month_day is not None
        day = day.replace(day=rule.month_day)

        def step(current: date) -> date:
            year, month = divmod(current.month, 12)
            return current.replace(year=current.year + year, month=month + 1)

    for _ in range(count * 3 + 3):  # a day a DST change skips is passed over
        if len(found) == count:
            break
        try:
            instant = local_instant(day, rule.at, zone)
        except InputError:
            instant = None
        if instant is not None and instant > after:
            found.append((day, instant))
        day = step(day)
    return found


def _new_post(series: Series, instant: datetime, now: datetime) -> Post:
    return Post(
        team_id=series.team_id, title=series.title, platform=series.platform,
        planned_at=instant, owner=series.owner, reviewer=series.reviewer,
        created_by=series.created_by, created_at=now, updated_at=now, series_id=series.id,
    )  # fmt: skip


def plan_occurrence(
    session: Session, series: Series, day: date, instant: datetime, *, now: datetime
) -> Post | None:
    """Plan one day of a series as a post, once: None when it was planned before."""
    assert series.id is not None
    if not series_store.claim_occurrence(session, series_id=series.id, day=day, now=now):
        return None
    post = post_store.add_post(session, _new_post(series, instant, now))
    assert post.id is not None
    series_store.set_occurrence_post(session, series_id=series.id, day=day, post_id=post.id)
    return post


def _window(series: Series, now: datetime, zone: ZoneInfo) -> list[tuple[date, datetime]]:
    return occurrences_after(rule_of(series), now, zone=zone, count=series.keep)


def top_up(session: Session, series: Series, *, now: datetime, zone: ZoneInfo) -> list[Post]:
    """Plan what is missing of the next `keep` occurrences."""
    window = _window(series, now, zone)
    assert series.id is not None
    planned = series_store.planned_days(
        session, series_id=series.id, days=[day for day, _ in window]
    )
    made = [
        post
        for day, instant in window
        if day not in planned
        and (post := plan_occurrence(session, series, day, instant, now=now)) is not None
    ]
    return made


# -- the sub-command -------------------------------------------------------------------


@publish_family.subcommand("series", "栏目")
def series_command(ctx: Context, args: list[str]) -> Reply:
    """`series add|list|skip|end …`: the first word is the action."""
    if not args:
        raise CommandError("series.error.missing_action")
    action = next(
        (name for name, spellings in ACTION_WORDS.items()
         if args[0].casefold() in (s.casefold() for s in spellings)),
        None,
    )  # fmt: skip
    if action is None:
        raise CommandError("series.error.unknown_action", word=args[0][:30])
    return _ACTIONS[action](ctx, args[1:])


@dataclass
class _SeriesOptions:
    title: str = ""
    platform: str | None = None
    reviewer: Speaker | None = None
    rule_words: list[str] | None = None


def _read_add_options(ctx: Context, args: list[str]) -> _SeriesOptions:
    """`<title> p:<platform> <rule> [@reviewer]`, the options read from the end."""
    quoted, words = unquote(args)
    found = _SeriesOptions()
    given = OnceEach()
    while words:
        word = words[-1]
        mention = parse_mention(word)
        option = split_option(word)
        if mention is not None:
            given.give("reviewer", word)
            found.reviewer = resolve_member(ctx, mention)
            words = words[:-1]
        elif option is not None and option[0] == "p":
            given.give("platform", word)
            found.platform = parse_platform(option[1], ctx.content_platforms)
            words = words[:-1]
        elif found.rule_words is None:
            start = next((i for i in range(len(words) - 1, -1, -1) if _starts_rule(words[i])), None)
            if start is None:
                break
            found.rule_words, words = words[start:], words[:start]
        else:
            break
    if quoted is not None:
        if words:
            raise CommandError("errors.extra_words", words=" ".join(words)[:40])
        words = [quoted] if quoted else []
    found.title = " ".join(words)
    return found


def _add(ctx: Context, args: list[str]) -> Reply:
    found = _read_add_options(ctx, args)
    if found.rule_words is None:  # before the title: the words left may be a bad rule
        raise CommandError("series.error.missing_rule")
    title = check_title(found.title, "publish.error.missing_title")
    if found.platform is None:
        raise CommandError("publish.error.missing_platform")
    rule = parse_rule(found.rule_words, now=ctx.now(), zone=ctx.team.zone)
    if found.reviewer is not None and found.reviewer.id == ctx.member.id:
        raise CommandError("publish.error.self_review")
    now = ctx.now()
    series = series_store.add_series(
        ctx.session,
        Series(
            team_id=ctx.team.id, title=title, platform=found.platform,
            rule=" ".join(found.rule_words)[:100], kind=rule.kind, weekday=rule.weekday,
            month_day=rule.month_day, at=rule.at.strftime("%H:%M"), keep=DEFAULT_KEEP,
            owner=ctx.member.id, reviewer=found.reviewer.id if found.reviewer else None,
            created_by=ctx.member.id, created_at=now,
        ),
    )  # fmt: skip
    posts = top_up(ctx.session, series, now=now, zone=ctx.team.zone)
    names = member_names(ctx)
    reviewer = names.get(series.reviewer or "", series.reviewer) or ctx.t("publish.any_reviewer")
    first = ctx.local(posts[0].planned_at).date()
    message = ctx.t(
        "series.added", id=series.id, title=quoted_title(ctx, title),
        rule=rule_text(ctx, rule), next=_day_short(ctx, first),
        platform=ctx.content_platforms.name(series.platform, ctx.locale), reviewer=reviewer,
    )  # fmt: skip
    planned = ctx.t(
        "series.planned", count=len(posts),
        posts="、".join(f"#{p.id} {_day_short(ctx, ctx.local(p.planned_at).date())}"
                       for p in posts),
    )  # fmt: skip
    return Reply(message, tone=Tone.SUCCESS, sections=[Section(lines=[planned])])


def _day_short(ctx: Context, day: date) -> str:
    return f"{day.strftime('%m-%d')} {ctx.t(f'weekday.{day.weekday()}')}"


def _list(ctx: Context, args: list[str]) -> Reply:
    everything = bool(args) and args[0].casefold() in ALL_WORDS
    if args[everything:]:
        raise CommandError("errors.extra_words", words=" ".join(args[everything:])[:40])
    all_series = series_store.series_of_team(
        ctx.session, team_id=ctx.team.id, active_only=not everything
    )
    title = ctx.t("series.list_title", count=len(all_series))
    if not all_series:
        return Reply(title, sections=[Section(lines=[ctx.t("series.none")])])
    names = member_names(ctx)
    upcoming = series_store.upcoming_posts(
        ctx.session, series_ids=[s.id for s in all_series if s.id is not None], after=ctx.now()
    )
    rows: list[tuple[str, ...]] = []
    for series in all_series:
        going = [p for p in upcoming if p.series_id == series.id and p.status != "cancelled"]
        if not series.active:
            state = ctx.t("series.ended_state")
        elif going:
            nxt = going[0]
            state = ctx.t("series.next", id=nxt.id,
                          day=_day_short(ctx, ctx.local(nxt.planned_at).date()),
                          count=len(going))  # fmt: skip
        else:
            state = ctx.t("series.nothing_ahead")
        reviewer = names.get(series.reviewer or "", series.reviewer) or ctx.t(
            "publish.any_reviewer"
        )
        rows.append((
            f"#{series.id}", quoted_title(ctx, series.title),
            rule_text(ctx, rule_of(series)),
            ctx.content_platforms.name(series.platform, ctx.locale),
            f"{names.get(series.owner, series.owner)} → {reviewer}", state,
        ))  # fmt: skip
    return Reply(title, sections=[Section(rows=rows)])


def _skip(ctx: Context, args: list[str]) -> Reply:
    """Cancel one occurrence; its day stays planned, so it is not made again."""
    post = load_record(ctx, Post, args[0] if args else None, not_found="publish.error.not_found")
    if len(args) > 1:
        raise CommandError("errors.extra_words", words=" ".join(args[1:])[:40])
    if post.series_id is None:
        raise CommandError("series.error.not_occurrence", id=post.id, show_usage=False)
    cancel_post(ctx, [str(post.id)])  # its checks: open, and who may cancel it
    return Reply(
        ctx.t("series.skipped", id=post.id, title=quoted_title(ctx, post.title),
              day=_day_short(ctx, ctx.local(post.planned_at).date())),
        tone=Tone.SUCCESS,
    )  # fmt: skip


def _end(ctx: Context, args: list[str]) -> Reply:
    series = load_record(ctx, Series, args[0] if args else None, not_found="series.error.not_found")
    if len(args) > 1:
        raise CommandError("errors.extra_words", words=" ".join(args[1:])[:40])
    if not series.active:
        raise CommandError("series.error.ended", id=series.id, show_usage=False)
    if ctx.member.id != series.owner and ctx.member.role not in REVIEWER_ROLES:
        raise CommandError("series.error.not_allowed", show_usage=False)
    now = ctx.now()
    assert series.id is not None
    cancelled = series_store.open_posts_after(ctx.session, series_id=series.id, after=now)
    for post in cancelled:
        post.status, post.updated_at = "cancelled", now
    series.active, series.ended_at = False, now
    return Reply(
        ctx.t("series.ended", id=series.id, title=quoted_title(ctx, series.title),
              count=len(cancelled),
              posts=" ".join(f"#{post.id}" for post in cancelled) or "–"),
        tone=Tone.SUCCESS,
    )  # fmt: skip


_ACTIONS = {"add": _add, "list": _list, "skip": _skip, "end": _end}


# -- the job: planning the next occurrences as time passes -----------------------------

# Every day just after midnight, whatever the team's schedule: an occurrence that went
# out yesterday leaves `keep - 1` planned, so a day's wait never empties the calendar,
# and a daily cron run costs a tick nothing (an event job would be one more read a tick).
TOPUP_CRON = "5 0 * * *"


def _top_up_team(ctx: Context, day: date) -> list[Outgoing]:
    """Plan what is missing of every active series of the team; posts nothing (the new
    posts show in the calendar and the digest). Each day is claimed once, so a run that
    races another, or a command, plans nothing twice."""
    del day
    for series in series_store.series_of_team(ctx.session, team_id=ctx.team.id, active_only=True):
        top_up(ctx.session, series, now=ctx.now(), zone=ctx.team.zone)
    return []


SERIES_TOPUP = CronJob("series_topup", cron=lambda team: TOPUP_CRON, build=_top_up_team)
