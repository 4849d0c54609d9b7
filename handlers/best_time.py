"""`/kpi best-time [<platform>] [<metric>]` (`/数据 最佳时间`): when posts did best.

The figures come from `handlers.post_figures` (medians per weekday and hour, and the
thresholds under which it says "too few to tell"); this module reads the words and says
the answer.
"""

from __future__ import annotations

from datetime import timedelta

from bot.core.commands import Context
from bot.core.errors import CommandError
from bot.core.messages import Reply, Section
from bot.vocab.arguments import parse_platform
from bot.vocab.metrics import metric_name, resolve_metric
from bot.vocab.numbers import format_number
from handlers.kpi import family
from handlers.post_figures import (
    BEST_TIME_DAYS,
    MIN_PER_SLOT,
    MIN_POSTS,
    BestTime,
    Slot,
    best_time,
    published_with,
)


def slot_text(ctx: Context, slot: Slot) -> str:
    return ctx.t("best_time.slot", weekday=ctx.t(f"weekday.{slot.weekday}"),
                 start=f"{slot.hour:02d}:00", end=f"{(slot.hour + 1) % 24:02d}:00")  # fmt: skip


def best_time_for(ctx: Context, platform: str, metric: str) -> BestTime:
    """The platform's best slots over the last `BEST_TIME_DAYS` days."""
    now = ctx.now()
    posts = published_with(
        ctx.session, team_id=ctx.team.id, start=now - timedelta(days=BEST_TIME_DAYS), end=now
    )
    return best_time(posts, platform=platform, metric=metric, zone=ctx.team.zone)


@family.subcommand("best-time", "最佳时间", "besttime", reads_only=True)
def show_best_time(ctx: Context, args: list[str]) -> Reply:
    """`[<platform>] [<metric>]`: every platform of the team unless one is named; reads
    unless another metric is."""
    platforms: list[str] = []
    metric = "reads"
    for word in args:
        named = resolve_metric(word)
        if named is not None:
            metric = named
            continue
        if ctx.content_platforms.resolve(word) is None:  # neither: say both were tried
            raise CommandError("best_time.error.unknown_word", value=word[:30],
                               platforms=", ".join(ctx.content_platforms.keys))  # fmt: skip
        platforms.append(parse_platform(word, ctx.content_platforms))
    if len(platforms) > 1:
        raise CommandError("best_time.error.one_platform")
    if not platforms:
        platforms = list(ctx.team.content_platforms) or list(ctx.content_platforms.keys)
    shown_metric = metric_name(metric, ctx.locale)
    sections = []
    for platform in platforms:
        best = best_time_for(ctx, platform, metric)
        name = ctx.content_platforms.name(platform, ctx.locale)
        if best.too_few:
            key = "best_time.too_few" if best.posts < MIN_POSTS else "best_time.no_slot"
            line = ctx.t(key, posts=best.posts, metric=shown_metric, min_posts=MIN_POSTS,
                         per_slot=MIN_PER_SLOT)  # fmt: skip
            sections.append(Section(title=name, lines=[line]))
            continue
        lines = [
            ctx.t(
                "best_time.line",
                rank=rank,
                slot=slot_text(ctx, slot),
                median=format_number(slot.median),
                posts=slot.posts,
            )
            for rank, slot in enumerate(best.top, start=1)
        ]
        title = ctx.t("best_time.platform", platform=name, posts=best.posts, metric=shown_metric)
        sections.append(Section(title=title, lines=lines))
    title = ctx.t("best_time.title", metric=shown_metric, days=BEST_TIME_DAYS)
    return Reply(title, sections=sections)
