"""`/kpi` (`/数据`): log, correct and delete daily account metrics, log post metrics, set
targets, quick views."""

from __future__ import annotations

import re
from datetime import date, timedelta
from itertools import takewhile

from bot.core.commands import CommandFamily, Context
from bot.core.errors import CommandError
from bot.core.messages import Reply, Section, Tone
from bot.vocab.arguments import parse_platform
from bot.vocab.errors import InputError
from bot.vocab.metrics import (
    METRIC_KEYS,
    is_cumulative,
    metric_name,
    read_value,
    reportable,
    resolve_metric,
)
from bot.vocab.numbers import format_number, format_percent, ratio
from bot.vocab.when import parse_date, week_bounds
from handlers.records import load_record
from storage import kpis as kpi_store
from storage.kpis import Upsert
from storage.models import KpiDaily, Post

family = CommandFamily("kpi", aliases=("数据",))

MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
MONTH_WORDS = {"month", "本月", "月"}
WEEK_WORDS = {"week", "本周", "周"}


# Between a metric and its number: `=` or a colon, ASCII or as a Chinese keyboard types them.
PAIR_SEPARATOR = re.compile(r"[=＝:：]")
# A metric glued to its number with no separator: `阅读12000`.
_GLUED = re.compile(r"^(\D+?)[0-9０-９]")
# Between pairs typed without a space: `阅读=12000，分享=340`.
_LIST_SEPARATOR = re.compile(r"([,，、;；])")
# Who may delete logged figures: a correction that loses data, so not every member.
DELETE_ROLES = ("admin", "editor")


def split_pair(word: str) -> tuple[str, str] | None:
    """`阅读=12000`, `阅读：12000`, `reads:12000` → ("阅读", "12000"); None without a separator."""
    match = PAIR_SEPARATOR.search(word)
    if match is None:
        return None
    return word[: match.start()], word[match.end() :]


def refuse_lone_metric(word: str) -> None:
    """Refuse a word that names a metric but is not a pair (`阅读`, `阅读12000`), naming it.

    Without this, such a word standing where a date may go would be refused as "not a
    date", which points at the wrong part.
    """
    if resolve_metric(word) is not None:
        raise CommandError("kpi.error.missing_value", pair=word[:30], name=word[:30])
    glued = _GLUED.match(word)
    if glued is not None and resolve_metric(glued.group(1)) is not None:
        raise CommandError("kpi.error.bad_pair", value=word[:30])


def split_glued_pairs(word: str) -> list[str]:
    """`阅读=12000，分享=340` → [`阅读=12000`, `分享=340`]; `阅读=12,000` stays one pair.

    A comma (or 、 ;) starts a new pair only when what follows it is a pair itself, so a
    comma inside a number stays with the number and reaches the number reader, which
    accepts it as a thousands group or refuses it (`阅读=1,2`).
    """
    pieces = _LIST_SEPARATOR.split(word)
    pairs = [pieces[0]]
    for separator, piece in zip(pieces[1::2], pieces[2::2], strict=True):
        if split_pair(piece) is not None and split_pair(pairs[-1]) is not None:
            pairs.append(piece)
        else:
            pairs[-1] += separator + piece
    return pairs


def parse_pairs(ctx: Context, words: list[str]) -> dict[str, float]:
    """`阅读=12000 分享：340` (or `阅读=12000，分享=340`) → {"reads": 12000, "shares": 340},
    all or nothing.

    A refusal names the pair that was wrong and why (unknown metric, no number, a number
    the reader refused and its reason), so the person can fix that one word.
    """
    if not words:
        raise CommandError("kpi.error.no_metrics")
    values: dict[str, float] = {}
    for word in (pair for glued in words for pair in split_glued_pairs(glued)):
        pair = split_pair(word)
        if pair is None:
            refuse_lone_metric(word)
            raise CommandError("kpi.error.bad_pair", value=word[:30])
        name, text = pair
        if not name.strip():
            raise CommandError("kpi.error.bad_pair", value=word[:30])
        metric = resolve_metric(name)
        if metric is None:
            raise CommandError(
                "kpi.error.unknown_metric", value=name[:30], known=", ".join(METRIC_KEYS)
            )
        if not text.strip():
            raise CommandError("kpi.error.missing_value", pair=word[:30], name=name[:30])
        try:
            value = read_value(text)
        except InputError as error:
            reason = ctx.t(error.message_key, **error.params)
            raise CommandError("kpi.error.bad_value", pair=word[:40], reason=reason) from None
        if metric in values:
            raise CommandError("kpi.error.twice", name=metric_name(metric, ctx.locale))
        values[metric] = value
    return values


def day_text(ctx: Context, day: date) -> str:
    """`11-22` for a day of this year, `2025-11-22` otherwise: the reply says which day."""
    return ctx.day_text(day)


def _pairs_text(ctx: Context, values: dict[str, float]) -> str:
    return " · ".join(f"{metric_name(m, ctx.locale)} {format_number(v)}" for m, v in values.items())


def _replaced_line(ctx: Context, replaced: dict[str, tuple[float, float]]) -> list[str]:
    if not replaced:
        return []
    changes = "，".join(
        f"{metric_name(m, ctx.locale)} {format_number(old)} → {format_number(new)}"
        for m, (old, new) in replaced.items()
    )
    return [ctx.t("kpi.replaced", changes=changes)]


@family.subcommand("log", "记录")
def log_metrics(ctx: Context, args: list[str]) -> Reply:
    if not args:
        raise CommandError("kpi.error.missing_platform")
    platform = parse_platform(args[0], ctx.content_platforms)
    rest = args[1:]
    # The words before the first pair are the date (it may be several: `11月 22日`).
    date_words = list(takewhile(lambda word: split_pair(word) is None, rest))
    for word in date_words:
        refuse_lone_metric(word)
    day = parse_date(date_words, today=ctx.today()) if date_words else ctx.today()
    if day > ctx.today():
        raise CommandError("kpi.error.future", date=day.isoformat())
    values = parse_pairs(ctx, rest[len(date_words) :])
    replaced = {}
    for metric, value in values.items():
        outcome, previous = kpi_store.upsert_daily(
            ctx.session, team_id=ctx.team.id, platform=platform, day=day, metric=metric,
            value=value, now=ctx.now(),
        )  # fmt: skip
        if outcome is Upsert.UPDATED and previous is not None:
            replaced[metric] = (previous, value)
    title = ctx.t(
        "kpi.logged",
        platform=ctx.content_platforms.name(platform, ctx.locale),
        date=day_text(ctx, day),
        values=_pairs_text(ctx, values),
    )
    lines = _replaced_line(ctx, replaced)
    return Reply(title, tone=Tone.SUCCESS, sections=[Section(lines=lines)] if lines else [])


def _day_and_metric(ctx: Context, words: list[str]) -> tuple[date, str | None]:
    """`11-22` → (that day, None); `11-22 阅读` → (that day, "reads").

    The date may be several words, so a last word that is not a metric is first read as
    part of the date; if the words before it are a date, it is an unknown metric.
    """
    if not words or (len(words) == 1 and resolve_metric(words[0]) is not None):
        raise CommandError("kpi.error.missing_date")
    if len(words) > 1:
        metric = resolve_metric(words[-1])
        if metric is not None:
            return parse_date(words[:-1], today=ctx.today()), metric
        try:
            return parse_date(words, today=ctx.today()), None
        except InputError:
            try:
                parse_date(words[:-1], today=ctx.today())
            except InputError:
                pass
            else:
                raise CommandError(
                    "kpi.error.unknown_metric", value=words[-1][:30], known=", ".join(METRIC_KEYS)
                ) from None
            raise
    return parse_date(words, today=ctx.today()), None


@family.subcommand("delete", "删除")
def delete_metrics(ctx: Context, args: list[str]) -> Reply:
    """Delete a day's figures of a platform (one metric or all), echoing what is gone.

    Editors and admins only: a member who logs a wrong figure corrects it by logging it
    again, which the reply shows; deleting loses data without a replacement.
    """
    if ctx.member.role not in DELETE_ROLES:
        raise CommandError("kpi.error.delete_not_allowed", show_usage=False)
    if not args:
        raise CommandError("kpi.error.missing_platform")
    platform = parse_platform(args[0], ctx.content_platforms)
    day, metric = _day_and_metric(ctx, args[1:])
    deleted = kpi_store.delete_daily(
        ctx.session, team_id=ctx.team.id, platform=platform, day=day, metric=metric
    )
    where = {
        "platform": ctx.content_platforms.name(platform, ctx.locale),
        "date": day_text(ctx, day),
    }
    if not deleted:
        if metric is None:
            return Reply(ctx.t("kpi.delete_nothing", **where))
        name = metric_name(metric, ctx.locale)
        return Reply(ctx.t("kpi.delete_nothing_metric", metric=name, **where))
    order = {key: index for index, key in enumerate(METRIC_KEYS)}
    ordered = dict(sorted(deleted.items(), key=lambda item: (order.get(item[0], len(order)), item)))
    return Reply(ctx.t("kpi.deleted", values=_pairs_text(ctx, ordered), **where), tone=Tone.SUCCESS)


@family.subcommand("post", "文章")
def log_post_metrics(ctx: Context, args: list[str]) -> Reply:
    values = parse_pairs(ctx, args[1:]) if args else {}
    post = load_record(ctx, Post, args[0] if args else None, not_found="publish.error.not_found")
    assert post.id is not None
    involved = (post.owner, post.reviewer, post.reviewer_confirmed_by)
    if ctx.member.id not in involved and ctx.member.role not in ("editor", "admin"):
        raise CommandError("kpi.error.post_not_allowed", show_usage=False)
    replaced = {}
    for metric, value in values.items():
        outcome, previous = kpi_store.upsert_post_metric(
            ctx.session, post_id=post.id, metric=metric, value=value, now=ctx.now()
        )
        if outcome is Upsert.UPDATED and previous is not None:
            replaced[metric] = (previous, value)
    title = ctx.t(
        "kpi.post_logged",
        title=ctx.t("publish.quoted_title", title=post.title),
        values=_pairs_text(ctx, values),
    )
    lines = _replaced_line(ctx, replaced)
    return Reply(title, tone=Tone.SUCCESS, sections=[Section(lines=lines)] if lines else [])


def parse_month(word: str) -> str:
    match = MONTH.match(word)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise CommandError("kpi.error.bad_month", value=word[:20])
    return f"{int(match.group(1)):04d}-{int(match.group(2)):02d}"


@family.subcommand("target", "目标")
def set_targets(ctx: Context, args: list[str]) -> Reply:
    if len(args) < 2:
        raise CommandError(
            "kpi.error.missing_platform" if not args else "kpi.error.bad_month", value="–"
        )
    platform = parse_platform(args[0], ctx.content_platforms)
    month = parse_month(args[1])
    values = parse_pairs(ctx, args[2:])
    if ctx.member.role != "admin":
        raise CommandError("errors.admins_only", show_usage=False)
    for metric, value in values.items():
        kpi_store.upsert_target(
            ctx.session, team_id=ctx.team.id, platform=platform, month=month, metric=metric,
            value=value, now=ctx.now(),
        )  # fmt: skip
    return Reply(
        ctx.t(
            "kpi.target_set",
            platform=ctx.content_platforms.name(platform, ctx.locale),
            month=month,
            values=_pairs_text(ctx, values),
        ),
        tone=Tone.SUCCESS,
    )


def period_totals(rows: list[KpiDaily]) -> dict[str, dict[str, float]]:
    """Per platform and metric: the sum of a flow, the last value of a level."""
    totals: dict[str, dict[str, float]] = {}
    for row in rows:  # ordered by platform, metric, day
        platform = totals.setdefault(row.platform, {})
        if is_cumulative(row.metric):
            platform[row.metric] = row.value
        else:
            platform[row.metric] = platform.get(row.metric, 0.0) + row.value
    return totals


@family.subcommand("show", "查看", reads_only=True)
def show_metrics(ctx: Context, args: list[str]) -> Reply:
    platform = None
    monthly = False
    for word in args:
        if word.casefold() in MONTH_WORDS:
            monthly = True
        elif word.casefold() in WEEK_WORDS:
            monthly = False
        else:
            platform = parse_platform(word, ctx.content_platforms)
    today = ctx.today()
    start: date = today.replace(day=1) if monthly else week_bounds(today)[0]
    rows = reportable(
        kpi_store.daily_values(
            ctx.session, team_id=ctx.team.id, start=start, end=today, platform=platform
        )
    )
    totals = period_totals(rows)
    targets = {}
    if monthly:
        for target in reportable(
            kpi_store.targets_for_month(
                ctx.session, team_id=ctx.team.id, month=today.strftime("%Y-%m")
            )
        ):
            targets[(target.platform, target.metric)] = target.value
    key = "kpi.show_month" if monthly else "kpi.show_week"
    title = ctx.t(key, start=start.strftime("%m-%d"), end=today.strftime("%m-%d"))
    wanted = sorted(
        set(totals) | {p for p, _ in targets if platform in (None, p)},
        key=ctx.content_platforms.keys.index if False else str,
    )
    if not wanted:
        return Reply(title, sections=[Section(lines=[ctx.t("kpi.nothing")])])
    sections = []
    for name in wanted:
        values = totals.get(name, {})
        rows_out = []
        for metric in METRIC_KEYS:
            if metric not in values and (name, metric) not in targets:
                continue
            cells = [metric_name(metric, ctx.locale), format_number(values.get(metric))]
            if (name, metric) in targets:
                goal = targets[(name, metric)]
                progress = format_percent(ratio(values.get(metric, 0.0), goal), digits=0)
                cells.append(f"/ {format_number(goal)} ({progress})")
            rows_out.append(tuple(cells))
        sections.append(Section(title=ctx.content_platforms.name(name, ctx.locale), rows=rows_out))
    return Reply(title, sections=sections)


def days_in_month(day: date) -> int:
    next_month = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return (next_month - timedelta(days=1)).day
