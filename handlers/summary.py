"""`/summary` (`/周报`): the weekly KPI summary — gathering its data and wording it."""

from __future__ import annotations

import base64
import logging
import re
from datetime import date, datetime, timedelta

from sqlmodel import Session

from bot.core.commands import CommandFamily, Context
from bot.core.config import TeamSettings
from bot.core.errors import CommandError
from bot.core.i18n import Translator
from bot.core.jobs import TEAM, CronJob, Outgoing, member_target
from bot.core.messages import Audience, Image, Reply, Section
from bot.core.render.chart import TITLE_KEY, ChartsUnavailable, render_summary_chart
from bot.vocab.arguments import parse_mention
from bot.vocab.content_platforms import PlatformCatalogue
from bot.vocab.metrics import MAX_VALUE, metric_name, reportable
from bot.vocab.numbers import format_change, format_number, format_percent, format_signed
from bot.vocab.when import local_midnight, week_bounds
from handlers.campaigns import campaign_summary_section
from handlers.member_week import MemberWeek, member_week
from handlers.post_figures import tiers
from handlers.standup_history import stored
from handlers.team import resolve_member
from handlers.weekly_summary import (
    CHART_METRICS,
    HEADLINE_METRICS,
    Figure,
    Note,
    PlatformFigures,
    SummaryInput,
    WeeklySummary,
    build_weekly_summary,
    weekly_series,
)
from storage import kpis as kpi_store
from storage import members as member_store
from storage import posts as post_store
from storage import standups as standup_store
from storage import tasks as task_store
from storage import topics as topic_store
from storage.models import IMPORTED, MANUAL

log = logging.getLogger(__name__)

family = CommandFamily("summary", aliases=("周报",))

ISO_WEEK = re.compile(r"^(?:(\d{4})(?:-|年)?)?(?:w(\d{1,2})|第(\d{1,2})周)$", re.IGNORECASE)
THIS_WEEK_WORDS = {"this", "本周", "这周"}
LAST_WEEK_WORDS = {"last", "上周", "上星期"}
RULE = "   "
LEAD_ROLES = ("admin", "editor")  # who may read another person's week


def parse_iso_week(text: str, *, today: date) -> date:
    """`2026-W47` (or `W47`, `第47周` for this year) → the Monday of that ISO week."""
    match = ISO_WEEK.match(text.strip())
    if not match:
        raise CommandError("summary.error.bad_week", value=text[:20])
    year = int(match.group(1) or today.isocalendar().year)
    if not 1970 <= year <= 2100:
        raise CommandError("summary.error.bad_week", value=text[:20])
    try:
        return date.fromisocalendar(year, int(match.group(2) or match.group(3)), 1)
    except ValueError:
        raise CommandError("summary.error.bad_week", value=text[:20]) from None


def previous_week_start(today: date) -> date:
    """The Monday of the last complete ISO week: what the Monday summary covers."""
    return week_bounds(today)[0] - timedelta(days=7)


def gather_summary_input(
    session: Session, *, team: TeamSettings, week_start: date, now: datetime
) -> SummaryInput:
    """Read from storage exactly what `build_weekly_summary` needs.

    A week still under way is counted up to today; participation counts the team's
    workdays (its holiday calendar) that have passed.
    """
    week_end = week_start + timedelta(days=6)
    today = now.astimezone(team.zone).date()
    as_of = today if week_start <= today < week_end else None
    counted_end = as_of or week_end
    workdays = [
        day
        for day in (week_start + timedelta(days=n) for n in range(7))
        if day <= counted_end and day <= today and team.is_workday(day)
    ]
    previous_start = week_start - timedelta(days=7)
    first_day = min(previous_start, week_end.replace(day=1))
    kpis = reportable(
        kpi_store.daily_values(session, team_id=team.id, start=first_day, end=week_end)
    )
    platforms = {row.platform for row in kpis}
    targets = reportable(
        kpi_store.targets_for_month(session, team_id=team.id, month=week_end.strftime("%Y-%m"))
    )
    platforms |= {target.platform for target in targets}
    followers_before = {}
    for platform in platforms:
        for day in (week_start, previous_start):
            level = kpi_store.latest_before(
                session, team_id=team.id, platform=platform, metric="followers", before=day
            )
            if level is not None and level.value <= MAX_VALUE:
                followers_before[(platform, day)] = level.value
    posts = post_store.posts_touching(
        session,
        team_id=team.id,
        start=local_midnight(week_start, team.zone),
        end=local_midnight(week_end + timedelta(days=1), team.zone),
    )
    return SummaryInput(
        team_name=team.display_name,
        week_start=week_start,
        now=now,
        zone=team.zone,
        kpis=kpis,
        followers_before=followers_before,
        targets=targets,
        posts=posts,
        post_metrics={
            post_id: {name: value for name, value in figures.items() if value <= MAX_VALUE}
            for post_id, figures in kpi_store.post_metrics(
                session, post_ids=[p.id for p in posts if p.id]
            ).items()
        },
        topics=topic_store.list_topics(session, team_id=team.id),
        members=member_store.list_members(session, team_id=team.id),
        standups=standup_store.standups_between(
            session, team_id=team.id, start=week_start, end=week_end
        ),
        tasks=task_store.tasks_between(session, team_id=team.id, start=week_start, end=counted_end),
        as_of=as_of,
        workdays=workdays,
        tiers={
            post_id: placed.value
            for post_id, placed in tiers(
                session, team_id=team.id, posts=[p for p in posts if p.status == "published"]
            ).items()
        },
    )


class SummaryWords:
    """The wording helpers of one rendering: a translator and the platform names."""

    def __init__(self, t: Translator, content_platforms: PlatformCatalogue) -> None:
        self.t, self.content_platforms = t, content_platforms
        self.t = t

    def metric(self, key: str) -> str:
        if key == "net_followers":
            return self.t("summary.net_followers")
        return metric_name(key, self.t.locale)

    def platform(self, key: str) -> str:
        return self.content_platforms.name(key, self.t.locale)

    def month(self, number: int) -> str:
        return self.t(f"month.{number}")

    def signed_percent(self, value: object) -> str:
        ratio = float(value)  # type: ignore[arg-type]
        return f"{'+' if ratio >= 0 else '-'}{abs(ratio) * 100:.1f}%"

    def note(self, note: Note) -> str:
        params = dict(note.params)
        if "platform" in params:
            params["platform"] = self.platform(str(params["platform"]))
        if "metric" in params:
            params["metric"] = self.metric(str(params["metric"]))
        if "change" in params:
            params["change"] = self.signed_percent(params["change"])
        for key in ("progress", "share", "rate"):
            if key in params:
                params[key] = format_percent(float(params[key]), digits=0)  # type: ignore[arg-type]
        if "month" in params:
            params["month"] = self.month(int(params["month"]))  # type: ignore[call-overload]
        if "title" in params:
            params["title"] = self.t("publish.quoted_title", title=params["title"])
        return self.t(note.key, **params)


def _figure_text(words: SummaryWords, metric: str, figure: Figure) -> str:
    if figure.value is None:
        return f"{words.metric(metric)} {format_number(None)}"
    value = (
        format_signed(figure.value) if metric == "net_followers" else format_number(figure.value)
    )
    return f"{words.metric(metric)} {value} {format_change(figure.change)}"


def _platform_section(words: SummaryWords, figures: PlatformFigures) -> Section:
    t = words.t
    lines = [RULE.join(_figure_text(words, m, figures.figures[m]) for m in HEADLINE_METRICS)]
    net = figures.figures["net_followers"]
    if figures.new_followers is not None or figures.unfollows is not None:
        lines.append(
            t(
                "summary.followers",
                net=format_signed(net.value),
                change=format_change(net.change),
                new=format_number(figures.new_followers),
                lost=format_number(figures.unfollows),
            )
        )
    else:
        lines.append(_figure_text(words, "net_followers", net))
    lines.append(
        t(
            "summary.rates",
            read_rate=format_percent(figures.read_rate.value),
            previous=format_percent(figures.read_rate.previous),
            share_rate=format_percent(figures.share_rate.value),
            conversion_rate=format_percent(figures.conversion_rate.value, digits=2),
        )
    )
    others = [m for m in figures.figures if m not in (*HEADLINE_METRICS, "net_followers")]
    if others:
        lines.append(RULE.join(_figure_text(words, m, figures.figures[m]) for m in others))
    if figures.targets:
        items = [
            t(
                "summary.target_item",
                metric=words.metric(target.metric),
                actual=format_number(target.actual),
                target=format_number(target.target),
                progress=format_percent(target.progress, digits=0),
                pace=format_percent(target.pace, digits=0),
                mark="✅" if target.on_pace else "⚠️",
            )
            for target in figures.targets
        ]
        month = words.month(int(figures.targets[0].month[5:]))
        lines.append(t("summary.targets", month=month, items=" · ".join(items)))
    if figures.sources:
        named = [
            source_name(t, origin, words.platform(figures.platform)) for origin in figures.sources
        ]
        lines.append(t("summary.sources", sources=" / ".join(named)))
    return Section(title=words.platform(figures.platform), lines=lines)


def source_name(t: Translator, origin: str, platform: str) -> str:
    """`manual` → 手动, `import` → 导入, a KPI source → 公众号接口 (the platform's API)."""
    if origin in (MANUAL, IMPORTED):
        return t(f"kpi.source.{origin}")
    return t("kpi.source.api", platform=platform)


def _week_range(words: SummaryWords, summary: WeeklySummary) -> str:
    start, end = summary.week_start, summary.week_end
    params = {
        "day1": start.day, "day2": end.day,
        "month_name1": words.month(start.month), "month_name2": words.month(end.month),
    }  # fmt: skip
    key = "summary.range_same_month" if start.month == end.month else "summary.range"
    return words.t(key, **params)


def render_weekly_summary(
    summary: WeeklySummary, *, t: Translator, content_platforms: PlatformCatalogue
) -> Reply:
    """The summary worded for people: one section per platform, then the team's week."""
    words = SummaryWords(t, content_platforms)
    _, week = summary.iso_week
    title_key = "summary.title_partial" if summary.partial_until else "summary.title"
    title = t(title_key, team=summary.team_name, week=week, range=_week_range(words, summary))
    sections = [_platform_section(words, figures) for figures in summary.platforms]
    if not summary.platforms:
        sections.append(Section(lines=[t("summary.no_kpis")]))
    team_lines = []
    for index, top in enumerate(summary.top_posts):
        figures = " · ".join(
            f"{words.metric(m)} {format_number(top.metrics[m])}"
            for m in ("reads", "users", "shares", "conversions", "likes", "favorites", "plays")
            if m in top.metrics
        )
        if top.tier is not None:
            figures += f" · {t(f'tier.{top.tier}')}"
        key = "summary.top_post" if index == 0 else "summary.other_post"
        team_lines.append(
            t(
                key,
                title=t("publish.quoted_title", title=top.post.title),
                platform=words.platform(top.post.platform),
                figures=figures,
            )
        )
    record, pipeline, people = summary.publishing, summary.pipeline, summary.participation
    team_lines.append(t("summary.publishing", **vars(record)))
    team_lines.append(
        t(
            "summary.pipeline",
            captured=pipeline.captured,
            scheduled=pipeline.scheduled,
            published=pipeline.published,
            **pipeline.backlog,
        )
    )
    team_lines.append(
        t(
            "summary.participation",
            rate=format_percent(people.rate, digits=0),
            answered=people.answered,
            expected=people.expected,
            done=people.tasks_done,
            total=people.tasks_total,
            blockers=people.blockers,
        )
    )
    # The team's lines stand at the top level, like the platform headings.
    sections.extend(Section(title=line) for line in team_lines)
    if summary.highlights:
        sections.append(
            Section(
                title=t("summary.highlights"),
                lines=[f"· {words.note(n)}" for n in summary.highlights],
            )
        )
    if summary.problems:
        sections.append(
            Section(
                title=t("summary.problems"), lines=[f"· {words.note(n)}" for n in summary.problems]
            )
        )
    return Reply(title, sections=sections, audience=Audience.CHANNEL)


def weekly_summary_reply(
    session: Session,
    *,
    team: TeamSettings,
    week_start: date,
    now: datetime,
    t: Translator,
    content_platforms: PlatformCatalogue,
) -> Reply:
    """One team's summary of one week: for /summary, the CLI and the scheduler; with
    each person's line when the team puts them in the channel (`summary.per_member`)."""
    return _team_and_people(
        session, team=team, week_start=week_start, now=now, t=t,
        content_platforms=content_platforms,
    )[0]  # fmt: skip


def _team_and_people(
    session: Session,
    *,
    team: TeamSettings,
    week_start: date,
    now: datetime,
    t: Translator,
    content_platforms: PlatformCatalogue,
) -> tuple[Reply, list[MemberWeek]]:
    data = gather_summary_input(session, team=team, week_start=week_start, now=now)
    summary = build_weekly_summary(data)
    reply = render_weekly_summary(summary, t=t, content_platforms=content_platforms)
    people = [member_week(data, member, summary.week_end) for member in data.members]
    if team.summary.per_member == "channel" and people:
        reply.sections.append(
            Section(
                title=t("summary.people_title"),
                lines=[member_week_line(t, person) for person in people],
            )
        )
    campaigns = campaign_summary_section(session, team_id=team.id, week_start=week_start, t=t)
    if campaigns is not None:  # a line per campaign of the week, with its posts' figures
        reply.sections.append(campaigns)
    return reply, people


def _hours(value: float) -> str:
    return f"{value:g}" if value == int(value) else f"{value:.1f}"


def member_week_line(t: Translator, person: MemberWeek) -> str:
    """One person in the channel's table."""
    return t(
        "summary.person",
        name=person.member.name, published=person.published, on_time=person.on_time,
        late=person.late, reads=format_number(person.reads),
        shares=format_number(person.shares), proposed=person.proposed,
        scheduled=person.scheduled, done=person.tasks_done, planned=person.tasks_planned,
        answered=person.answered, expected=person.expected, blockers=person.blockers,
    )  # fmt: skip


def member_week_reply(t: Translator, person: MemberWeek, week_start: date) -> Reply:
    """One person's week on its own: their DM, or `/summary @member`."""
    week_end = week_start + timedelta(days=6)
    title = t("summary.member.title", name=person.member.name,
              week=week_start.isocalendar().week, start=week_start.strftime("%m-%d"),
              end=week_end.strftime("%m-%d"))  # fmt: skip
    lines = [
        t("summary.member.posts", published=person.published, on_time=person.on_time,
          late=person.late, reads=format_number(person.reads),
          shares=format_number(person.shares)),
        t("summary.member.topics", proposed=person.proposed, scheduled=person.scheduled),
        t("summary.member.tasks", done=person.tasks_done, planned=person.tasks_planned,
          hours_done=_hours(person.hours_done), hours_planned=_hours(person.hours_planned)),
        t("summary.member.standups", answered=person.answered, expected=person.expected,
          blockers=person.blockers),
    ]  # fmt: skip
    return Reply(title, sections=[Section(lines=lines)])


@family.default_handler(reads_only=True)
def show_summary(ctx: Context, args: list[str]) -> Reply:
    """`[<week>]`: the team's week; `@member [<week>]`: one person's (yourself, or anyone
    for editors and admins)."""
    today = ctx.today()
    mentions = [word for word in args if parse_mention(word) is not None]
    if len(mentions) > 1:
        raise CommandError("errors.extra_words", words=" ".join(mentions[1:])[:40])
    if mentions:  # `@bob 2026-W47` or `2026-W47 @bob`
        rest = [word for word in args if word not in mentions]
        return _show_member(ctx, parse_mention(mentions[0]) or "", rest)
    if len(args) > 1:
        raise CommandError("errors.extra_words", words=" ".join(args[1:])[:40])
    if not args:
        week_start = previous_week_start(today)
    elif args[0].casefold() in THIS_WEEK_WORDS:
        week_start = week_bounds(today)[0]
    elif args[0].casefold() in LAST_WEEK_WORDS:
        week_start = previous_week_start(today)
    else:
        week_start = parse_iso_week(args[0], today=today)
    return weekly_summary_reply(
        ctx.session,
        team=ctx.team,
        week_start=week_start,
        now=ctx.now(),
        t=ctx.t,
        content_platforms=ctx.content_platforms,
    )


def _week_named(ctx: Context, words: list[str]) -> date:
    """The Monday of the week the words name (last week when none)."""
    today = ctx.today()
    if len(words) > 1:
        raise CommandError("errors.extra_words", words=" ".join(words[1:])[:40])
    if not words or words[0].casefold() in LAST_WEEK_WORDS:
        return previous_week_start(today)
    if words[0].casefold() in THIS_WEEK_WORDS:
        return week_bounds(today)[0]
    return parse_iso_week(words[0], today=today)


def _show_member(ctx: Context, handle: str, rest: list[str]) -> Reply:
    member = resolve_member(ctx, handle)
    if member.id != ctx.member.id and ctx.member.role not in LEAD_ROLES:
        raise CommandError("summary.error.not_yours", show_usage=False)
    week_start = _week_named(ctx, rest)
    data = gather_summary_input(ctx.session, team=ctx.team, week_start=week_start, now=ctx.now())
    week_end = build_weekly_summary(data).week_end
    person = member_week(data, stored(member), week_end)
    return member_week_reply(ctx.t, person, week_start)


def _summary_of_last_week(ctx: Context, day: date) -> list[Outgoing]:
    """The Monday post: the text summary, with its chart attached when one can be drawn
    (a platform that cannot show pictures simply leaves it out)."""
    week_start = previous_week_start(day)
    reply, people = _team_and_people(
        ctx.session, team=ctx.team, week_start=week_start, now=ctx.now(),
        t=ctx.t, content_platforms=ctx.content_platforms,
    )  # fmt: skip
    reply.image = summary_chart_image(
        ctx.session, team=ctx.team, week_start=week_start,
        t=ctx.t, content_platforms=ctx.content_platforms,
    )  # fmt: skip
    outgoing = [Outgoing(TEAM, reply)]
    if ctx.team.summary.per_member == "dm":  # each their own lines, not a public ranking
        outgoing += [
            Outgoing(member_target(person.member.id),
                     member_week_reply(ctx.t, person, week_start))
            for person in people
        ]  # fmt: skip
    return outgoing


def iso_week_name(week_start: date) -> str:
    """`2026-W47`: how a week is named in the ledger and in the chart's file name."""
    year, week, _ = week_start.isocalendar()
    return f"{year}-W{week:02d}"


def week_period(day: date) -> str:
    """The ledger period of the summary posted on `day`: the ISO week it covers."""
    return iso_week_name(previous_week_start(day))


WEEKLY_SUMMARY = CronJob(
    "weekly_summary",
    cron=lambda team: team.schedule.weekly_summary,
    build=_summary_of_last_week,
    period=lambda scheduled, fire: week_period(scheduled),
    next_workday=True,  # a summary skipped for a holiday Monday is still wanted
)

CHART_WEEKS = 8
Series = dict[str, dict[str, list[float | None]]]


def _chart_series(session: Session, *, team: TeamSettings, week_start: date, weeks: int) -> Series:
    first = week_start - timedelta(days=7 * (weeks - 1))
    rows = reportable(
        kpi_store.daily_values(
            session, team_id=team.id, start=first, end=week_start + timedelta(days=6)
        )
    )
    return weekly_series(rows, last_week_start=week_start, weeks=weeks)


def _chart_words(
    series: Series,
    *,
    team: TeamSettings,
    t: Translator,
    content_platforms: PlatformCatalogue,
    weeks: int,
) -> tuple[str, dict[str, str], dict[str, str]]:
    """The title and names in the team's language, and in English for a host without a
    CJK font (the English title names the team by its id: its display name may be
    Chinese)."""
    words, english = (
        SummaryWords(t, content_platforms),
        SummaryWords(Translator("en"), content_platforms),
    )
    labels = {key: words.platform(key) for key in series} | {
        m: words.metric(m) for m in CHART_METRICS
    }
    fallback = {key: english.platform(key) for key in series} | {
        m: english.metric(m) for m in CHART_METRICS
    }
    fallback[TITLE_KEY] = english.t("summary.chart_title", team=team.id, weeks=weeks)
    title = t("summary.chart_title", team=team.display_name, weeks=weeks)
    return title, labels, fallback


def summary_chart_png(
    session: Session,
    *,
    team: TeamSettings,
    week_start: date,
    t: Translator,
    content_platforms: PlatformCatalogue,
    weeks: int = CHART_WEEKS,
) -> bytes:
    """The chart of the main metrics per platform over the `weeks` weeks up to this one.

    Raises `ChartsUnavailable` without matplotlib (the CLI's `--chart` says so)."""
    series = _chart_series(session, team=team, week_start=week_start, weeks=weeks)
    title, labels, fallback = _chart_words(
        series, team=team, t=t, content_platforms=content_platforms, weeks=weeks
    )
    return render_summary_chart(
        series, last_week_start=week_start, title=title, labels=labels, fallback_labels=fallback
    )


def summary_chart_image(
    session: Session,
    *,
    team: TeamSettings,
    week_start: date,
    t: Translator,
    content_platforms: PlatformCatalogue,
    weeks: int = CHART_WEEKS,
) -> Image | None:
    """The chart as the summary post's picture, or None: no KPI in those weeks (an empty
    chart says nothing), no matplotlib, or drawing failed. The text summary is the post;
    the chart only illustrates it, so no failure here may keep the text from going out."""
    series = _chart_series(session, team=team, week_start=week_start, weeks=weeks)
    if not any(v is not None for metrics in series.values() for vs in metrics.values() for v in vs):
        return None
    title, labels, fallback = _chart_words(
        series, team=team, t=t, content_platforms=content_platforms, weeks=weeks
    )
    try:
        png = render_summary_chart(
            series, last_week_start=week_start, title=title, labels=labels, fallback_labels=fallback
        )
    except ChartsUnavailable as error:
        log.warning("weekly summary of %s goes without its chart: %s", team.id, error)
        return None
    except Exception:  # matplotlib's failures are many and undocumented; the text still goes
        log.exception("weekly summary of %s: drawing the chart failed", team.id)
        return None
    words = SummaryWords(t, content_platforms)
    alt = " · ".join(
        (
            title,
            " / ".join(words.platform(key) for key in sorted(series)),
            " / ".join(words.metric(m) for m in CHART_METRICS),
        )
    )
    return Image(
        png_base64=base64.b64encode(png).decode("ascii"),
        alt=alt,
        filename=f"weekly-summary-{iso_week_name(week_start)}.png",
    )
