"""`/calendar` (`/日历`): the marketing calendar (营销日历) — the dates a content team
plans around, and what is already planned for each.

The built-in dates (solar terms, holidays, 618, 七夕 …) are `bot/vocab/marketing_dates.py`;
a team adds its own (`/calendar add 2027-03-15 公司周年庆`) and hides the built-in ones it
does not care about (`/calendar hide 感恩节`, undone by `unhide`); both are rows of
`calendar_dates`.

What is tied to a date (the rule `/calendar`, the digest and the README state):
- a **post** planned (or published) from `TIE_DAYS_BEFORE` days before the date until the
  end of the date's day, whose title names the date, or whose topic's title or tags do;
- a **topic** not yet published or dropped whose title names the date or that carries
  one of its names as a tag, unless one of the date's posts already carries it.
"Names" are the date's Chinese and English names and its aliases (`双11`, `Singles' Day`),
in any case. The morning digest warns `lead_days` days ahead
(`marketing_calendar.lead_days`, default 10), each day until the date.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from bot.core.commands import CommandFamily, Context
from bot.core.errors import CommandError
from bot.core.messages import Reply, Section, Tone
from bot.vocab.arguments import unquote
from bot.vocab.errors import InputError
from bot.vocab.marketing_dates import MarketingDate, builtin_dates, find_builtin, names_in
from bot.vocab.when import local_midnight, looks_like_date, parse_date
from handlers.publish import post_state, quoted_title
from storage import calendar as calendar_store
from storage import posts as post_store
from storage.calendar import NamedTopic, OwnDate
from storage.models import CALENDAR_NAME_MAX_LENGTH, CalendarDate
from storage.posts import PostLine

family = CommandFamily("calendar", aliases=("日历",))

TIE_DAYS_BEFORE = 7  # a post this many days before a date (or on it) may be for it
DEFAULT_DAYS = 30  # `/calendar` alone: today and the next 30 days
TOPIC_STATUSES = ("idea", "scheduled")
TIED_POST_STATUSES = (*post_store.ACTIVE_POST_STATUSES, "published")
TOPICS_READ = 200  # topics naming the dates shown, at most (a bound, not a page)
SHOWN_PER_DATE = 5  # posts, then topics, listed under one date
EDIT_ROLES = ("admin", "editor")
NEXT_WORDS = {"next", "下月", "下个月", "next-month"}
THIS_WORDS = {"this", "本月", "这个月", "this-month"}
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
FIRST_YEAR, LAST_YEAR = 2000, 2099  # what the lunar table and the solar terms cover
_MAX_DATE_WORDS = 3  # `2027年 3月 15日`


@dataclass
class CalendarEntry:
    """A marketing date, the posts planned for it and the topics naming it not yet in one."""

    date: MarketingDate
    posts: Sequence[PostLine] = field(default_factory=list)
    topics: Sequence[NamedTopic] = field(default_factory=list)


def own_date(row: OwnDate) -> MarketingDate:
    assert row.day is not None
    return MarketingDate(row.day, f"own-{row.id}", row.name, row.name, "own", (row.name,))


def marketing_dates(ctx: Context, start: date, end: date) -> list[MarketingDate]:
    """The team's calendar in [start, end]: the built-in dates it did not hide, and its own."""
    hidden, own = calendar_store.team_dates(ctx.session, team_id=ctx.team.id, start=start, end=end)
    found = [found for found in builtin_dates(start, end) if found.zh not in hidden]
    found += [own_date(row) for row in own]
    return sorted(found, key=lambda found_date: found_date.day)  # stable: built-in first


def _topic_names(topic: NamedTopic, names: tuple[str, ...]) -> bool:
    folded = {name.casefold() for name in names}
    return names_in(topic.title, names) or any(tag.casefold() in folded for tag in topic.tags)


def calendar_entries(ctx: Context, start: date, end: date) -> list[CalendarEntry]:
    """Each date of [start, end] with what is tied to it (the module's rule). Reads the
    posts of those days and the topics naming those dates: never the whole history."""
    dates = marketing_dates(ctx, start, end)
    if not dates:
        return []
    team, zone = ctx.team.id, ctx.team.zone
    posts = post_store.post_lines_between(
        ctx.session, team_id=team, statuses=TIED_POST_STATUSES,
        start=local_midnight(start - timedelta(days=TIE_DAYS_BEFORE), zone),
        end=local_midnight(end + timedelta(days=1), zone),
    )  # fmt: skip
    topics_of_posts = calendar_store.topics_by_id(
        ctx.session, team_id=team, ids=(post.topic_id for post in posts if post.topic_id)
    )
    every_name = [name for found in dates for name in found.names]
    topics = calendar_store.topics_naming(
        ctx.session, team_id=team, names=every_name, statuses=TOPIC_STATUSES, limit=TOPICS_READ
    )
    entries = []
    for found in dates:
        first = found.day - timedelta(days=TIE_DAYS_BEFORE)
        tied = [
            post
            for post in posts
            if first <= ctx.local(post.planned_at).date() <= found.day
            and (
                names_in(post.title, found.names)
                or (
                    (topic := topics_of_posts.get(post.topic_id or 0)) is not None
                    and _topic_names(topic, found.names)
                )
            )
        ]
        carried = {post.topic_id for post in tied}
        waiting = [t for t in topics if t.id not in carried and _topic_names(t, found.names)]
        entries.append(CalendarEntry(found, tied, waiting))
    return entries


# -- words ------------------------------------------------------------------------------


def date_name(ctx: Context, found: MarketingDate) -> str:
    return found.name(ctx.locale)


def days_left_text(ctx: Context, day: date, today: date) -> str:
    left = (day - today).days
    if left < 0:
        return ctx.t("calendar.days.past", days=-left)
    if left <= 1:
        return ctx.t("calendar.days.today" if left == 0 else "calendar.days.tomorrow")
    return ctx.t("calendar.days.left", days=left)


def _post_text(ctx: Context, post: PostLine) -> str:
    local = ctx.local(post.planned_at)
    return ctx.t(
        "calendar.post", id=post.id, title=quoted_title(ctx, post.title),
        when=local.strftime("%m-%d %H:%M"),
        platform=ctx.content_platforms.name(post.platform, ctx.locale),
        state=post_state(ctx, post),
    )  # fmt: skip


def _topic_text(ctx: Context, topic: NamedTopic) -> str:
    key = "calendar.topic_idea" if topic.status == "idea" else "calendar.topic_scheduled"
    return ctx.t(key, id=topic.id, title=topic.title)


def entry_lines(ctx: Context, entry: CalendarEntry, today: date) -> list[str]:
    found = entry.date
    lines = [
        ctx.t(
            "calendar.line",
            **ctx.day_label(found.day),
            name=date_name(ctx, found),
            kind=ctx.t(f"calendar.kind.{found.kind}"),
            left=days_left_text(ctx, found.day, today),
        )
    ]
    tied = [_post_text(ctx, post) for post in entry.posts]
    tied += [_topic_text(ctx, topic) for topic in entry.topics]
    lines += [f"    {text}" for text in tied[:SHOWN_PER_DATE]]
    if len(tied) > SHOWN_PER_DATE:
        lines.append("    " + ctx.t("list.more", count=len(tied) - SHOWN_PER_DATE))
    return lines


def digest_line(ctx: Context, entry: CalendarEntry, today: date) -> str:
    """`冬至 还有 7 天 · 还没有排期的选题`, or the posts planned, or the topics waiting."""
    found = entry.date
    params = {"name": date_name(ctx, found), "left": days_left_text(ctx, found.day, today)}
    if entry.posts:
        shown = [
            ctx.t("calendar.digest_post", title=quoted_title(ctx, post.title),
                  when=ctx.local(post.planned_at).strftime("%m-%d"))
            for post in entry.posts[:SHOWN_PER_DATE]
        ]  # fmt: skip
        posts = ctx.t("calendar.separator").join(shown)
        return ctx.t("calendar.digest.planned", **params, count=len(entry.posts), posts=posts)
    if entry.topics:
        topics = ctx.t("calendar.separator").join(
            ctx.t("calendar.digest_topic", id=topic.id, title=topic.title)
            for topic in entry.topics[:SHOWN_PER_DATE]
        )
        return ctx.t("calendar.digest.topics", **params, count=len(entry.topics), topics=topics)
    return ctx.t("calendar.digest.nothing", **params)


def digest_entries(ctx: Context, day: date) -> list[CalendarEntry]:
    """The dates the morning digest of `day` warns of: from `day` to `lead_days` ahead."""
    lead = ctx.team.marketing_calendar.lead_days
    return calendar_entries(ctx, day, day + timedelta(days=lead))


# -- reading the words ------------------------------------------------------------------


def _month_bounds(year: int, month: int) -> tuple[date, date]:
    first = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def parse_range(ctx: Context, args: list[str]) -> tuple[date, date]:
    """`[next|this|<YYYY-MM>]`: the days `/calendar` shows."""
    today = ctx.today()
    if not args:
        return today, today + timedelta(days=DEFAULT_DAYS)
    word = "-".join(args).casefold()
    if word in NEXT_WORDS:
        following = _month_bounds(today.year, today.month)[1] + timedelta(days=1)
        return _month_bounds(following.year, following.month)
    if word in THIS_WORDS:
        return _month_bounds(today.year, today.month)
    found = _MONTH.match(word) if len(args) == 1 else None
    if found is None:
        raise CommandError("calendar.error.bad_month", value=" ".join(args)[:40])
    year, month = int(found.group(1)), int(found.group(2))
    if not 1 <= month <= 12:
        raise CommandError("calendar.error.bad_month", value=args[0][:40])
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise CommandError(
            "calendar.error.month_out_of_range", value=args[0][:40], first=FIRST_YEAR,
            last=LAST_YEAR,
        )  # fmt: skip
    return _month_bounds(year, month)


def _split_date(ctx: Context, words: list[str]) -> tuple[date, list[str]]:
    """`<date> <name>` (or `<name> <date>`): the day and the name's words."""
    today = ctx.today()
    for count in range(min(_MAX_DATE_WORDS, len(words)), 0, -1):
        for date_words, rest in ((words[:count], words[count:]), (words[-count:], words[:-count])):
            try:
                return parse_date(date_words, today=today), rest
            except InputError:
                continue
    for word in (words[0], words[-1]) if words else ():
        if looks_like_date(word, today=today):
            parse_date([word], today=today)  # raises: "「2026-02-30」不是日期 …"
    raise CommandError("calendar.error.missing_date")


def _name(words: list[str]) -> str:
    title, rest = unquote(words)
    name = title if title is not None and not rest else " ".join(words)
    name = " ".join(name.split())
    if not name:
        raise CommandError("calendar.error.missing_name")
    if len(name) > CALENDAR_NAME_MAX_LENGTH:
        raise CommandError("calendar.error.name_too_long", max=CALENDAR_NAME_MAX_LENGTH,
                           length=len(name))  # fmt: skip
    return name


def _require_editor(ctx: Context) -> None:
    if ctx.member.role not in EDIT_ROLES:
        raise CommandError("calendar.error.editors_only", show_usage=False)


def _month_day(ctx: Context, day: date) -> str:
    return ctx.t("calendar.month_day", month_name=ctx.t(f"month.{day.month}"), day=day.day)


# -- the commands -----------------------------------------------------------------------


@family.default_handler(reads_only=True)
def show_calendar(ctx: Context, args: list[str]) -> Reply:
    start, end = parse_range(ctx, args)
    today = ctx.today()
    entries = calendar_entries(ctx, start, end)
    title = ctx.t(
        "calendar.title", team=ctx.team.display_name, year=start.year,
        start=_month_day(ctx, start), end=_month_day(ctx, end),
    )  # fmt: skip
    if not entries:
        return Reply(title, sections=[Section(lines=[ctx.t("calendar.empty")])])
    lines = [line for entry in entries for line in entry_lines(ctx, entry, today)]
    lines.append(ctx.t("calendar.tie_rule", days=TIE_DAYS_BEFORE))
    return Reply(title, sections=[Section(lines=lines)])


@family.subcommand("add", "新增", "添加")
def add_date(ctx: Context, args: list[str]) -> Reply:
    if not args:
        raise CommandError("calendar.error.missing_date")
    day, rest = _split_date(ctx, args)
    name = _name(rest)
    if day < ctx.today():
        raise CommandError("calendar.error.past", day=ctx.day_text(day))
    for row in calendar_store.own_dates_named(ctx.session, team_id=ctx.team.id, name=name):
        if row.day == day:
            raise CommandError("calendar.error.duplicate", name=name, day=ctx.day_text(day),
                               show_usage=False)  # fmt: skip
    row = calendar_store.add_date(
        ctx.session,
        CalendarDate(team_id=ctx.team.id, kind=calendar_store.OWN, day=day, name=name,
                     created_by=ctx.member.id, created_at=ctx.now()),
    )  # fmt: skip
    return Reply(
        ctx.t("calendar.added", name=name, day=ctx.day_text(day), id=row.id,
              lead=ctx.team.marketing_calendar.lead_days),
        tone=Tone.SUCCESS,
    )  # fmt: skip


@family.subcommand("hide", "隐藏")
def hide_date(ctx: Context, args: list[str]) -> Reply:
    _require_editor(ctx)
    name = _name(args)
    builtin = find_builtin(name)
    if builtin is None:
        mine = calendar_store.own_dates_named(ctx.session, team_id=ctx.team.id, name=name)
        key = "calendar.error.hide_own" if mine else "calendar.error.unknown_date"
        raise CommandError(key, name=name, show_usage=False)
    _, zh, en = builtin
    shown = zh if ctx.locale.startswith("zh") else en
    if calendar_store.hidden_row(ctx.session, team_id=ctx.team.id, name=zh) is not None:
        return Reply(ctx.t("calendar.already_hidden", name=shown))
    calendar_store.add_date(
        ctx.session,
        CalendarDate(team_id=ctx.team.id, kind=calendar_store.HIDDEN, day=None, name=zh,
                     created_by=ctx.member.id, created_at=ctx.now()),
    )  # fmt: skip
    return Reply(ctx.t("calendar.hidden", name=shown), tone=Tone.SUCCESS)


@family.subcommand("unhide", "恢复", "显示")
def unhide_date(ctx: Context, args: list[str]) -> Reply:
    _require_editor(ctx)
    name = _name(args)
    builtin = find_builtin(name)
    if builtin is None:
        raise CommandError("calendar.error.unknown_date", name=name, show_usage=False)
    _, zh, en = builtin
    shown = zh if ctx.locale.startswith("zh") else en
    row = calendar_store.hidden_row(ctx.session, team_id=ctx.team.id, name=zh)
    if row is None:
        raise CommandError("calendar.error.not_hidden", name=shown, show_usage=False)
    ctx.session.delete(row)
    return Reply(ctx.t("calendar.unhidden", name=shown), tone=Tone.SUCCESS)


@family.subcommand("delete", "删除")
def delete_date(ctx: Context, args: list[str]) -> Reply:
    name = _name(args)
    rows = calendar_store.own_dates_named(ctx.session, team_id=ctx.team.id, name=name)
    if not rows:
        key = "calendar.error.delete_builtin" if find_builtin(name) else "calendar.error.no_own"
        raise CommandError(key, name=name, show_usage=False)
    if ctx.member.role not in EDIT_ROLES and any(r.created_by != ctx.member.id for r in rows):
        raise CommandError("calendar.error.not_yours", show_usage=False)
    days = ctx.t("calendar.separator").join(ctx.day_text(row.day) for row in rows if row.day)
    for row in rows:
        ctx.session.delete(row)
    return Reply(ctx.t("calendar.deleted", name=name, days=days, count=len(rows)),
                 tone=Tone.SUCCESS)  # fmt: skip
