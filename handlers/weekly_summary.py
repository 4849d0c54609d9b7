"""The weekly KPI summary (SPEC §4) as a pure function of stored data and a week.

`build_weekly_summary` computes every figure; `render_weekly_summary` words it. Neither
touches the database or a chat platform, so the summary can be tested against
hand-computed values and previewed anywhere. A figure that cannot be computed (no data,
or a division by zero) is None and shows as "–".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.vocab.metrics import METRIC_KEYS, is_cumulative
from handlers.standup import is_away
from storage.members import MemberLine
from storage.models import IMPORTED, MANUAL, KpiDaily, Post, Standup, Target, Task, Topic

ON_TIME_GRACE = timedelta(hours=1)
HEADLINE_METRICS = ("reads", "shares", "conversions")
FOLLOWER_METRICS = ("new_followers", "unfollows", "followers")
OTHER_METRICS = tuple(m for m in METRIC_KEYS if m not in HEADLINE_METRICS + FOLLOWER_METRICS)
MAX_HIGHLIGHTS = 3
MAX_PROBLEMS = 3
LOW_PARTICIPATION = 0.8
TOP_POSTS = 3


@dataclass
class SummaryInput:
    """Everything the summary reads, gathered by `handlers.summary` (or built by a test)."""

    team_name: str
    week_start: date  # a Monday
    now: datetime
    zone: ZoneInfo
    kpis: list[KpiDaily]  # at least the previous week, this week and this month to date
    followers_before: dict[tuple[str, date], float]  # (platform, day) → last level before day
    targets: list[Target]  # of the month the week ends in
    posts: list[Post]  # planned in the week, or published in it
    post_metrics: dict[int, dict[str, float]]
    topics: list[Topic]
    members: Sequence[MemberLine]
    standups: list[Standup]  # of the week
    tasks: list[Task]  # planned for days of the week
    # A week still under way counts only its days up to `as_of`, and compares them with
    # the same days of the week before. None: the whole week.
    as_of: date | None = None
    # The team's workdays of the week (its holiday calendar); None: Monday to Friday.
    workdays: list[date] | None = None
    # Each published post's tier among its platform's last 90 days (`post_figures`).
    tiers: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Figure:
    value: float | None
    previous: float | None

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None or self.previous == 0:
            return None
        return (self.value - self.previous) / abs(self.previous)


@dataclass(frozen=True)
class TargetProgress:
    platform: str
    metric: str
    month: str
    actual: float
    target: float
    pace: float  # the share of the month elapsed by the end of the week

    @property
    def progress(self) -> float | None:
        return None if self.target == 0 else self.actual / self.target

    @property
    def on_pace(self) -> bool:
        return self.progress is not None and self.progress >= self.pace


@dataclass
class PlatformFigures:
    platform: str
    figures: dict[str, Figure]  # reads, shares, conversions, net_followers, other flows
    new_followers: float | None
    unfollows: float | None
    read_rate: Figure
    share_rate: Figure
    conversion_rate: Figure
    targets: list[TargetProgress] = field(default_factory=list)
    # Where the week's figures came from: KPI sources by name, then `manual`, `import`.
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class TopPost:
    post: Post
    metrics: dict[str, float]
    tier: str | None = None  # top / middle / bottom of its platform's last 90 days


@dataclass(frozen=True)
class PublishingRecord:
    planned: int
    published: int
    on_time: int
    slipped: int
    cancelled: int


@dataclass(frozen=True)
class Pipeline:
    captured: int
    scheduled: int
    published: int
    backlog: dict[str, int]  # high / mid / low


@dataclass(frozen=True)
class Participation:
    answered: int
    expected: int
    tasks_done: int
    tasks_total: int
    blockers: int

    @property
    def rate(self) -> float | None:
        return None if self.expected == 0 else self.answered / self.expected


@dataclass(frozen=True)
class Note:
    """A highlight or problem: a catalogue key and its parameters, worded by the renderer."""

    key: str
    params: dict[str, object]


@dataclass
class WeeklySummary:
    team_name: str
    week_start: date
    week_end: date
    platforms: list[PlatformFigures]
    top_posts: list[TopPost]
    publishing: PublishingRecord
    pipeline: Pipeline
    participation: Participation
    highlights: list[Note]
    problems: list[Note]
    partial_until: date | None = None  # a week still under way: counted up to this day

    @property
    def iso_week(self) -> tuple[int, int]:
        year, week, _ = self.week_start.isocalendar()
        return year, week


def _between(day: date, start: date, end: date) -> bool:
    return start <= day <= end


def _sums(rows: Iterable[KpiDaily], start: date, end: date) -> dict[tuple[str, str], float]:
    sums: dict[tuple[str, str], float] = {}
    for row in rows:
        if _between(row.day, start, end) and not is_cumulative(row.metric):
            sums[(row.platform, row.metric)] = sums.get((row.platform, row.metric), 0.0) + row.value
    return sums


def _sources(rows: Iterable[KpiDaily], platform: str, start: date, end: date) -> tuple[str, ...]:
    """The sources of a platform's figures of these days: fetched ones first, then the
    typed and the imported (a reader trusts an API's count differently from a typed one)."""
    found = {
        row.source for row in rows if row.platform == platform and _between(row.day, start, end)
    }
    by_hand = [origin for origin in (MANUAL, IMPORTED) if origin in found]
    return (*sorted(found - {MANUAL, IMPORTED}), *by_hand)


def _last_level(rows: Iterable[KpiDaily], platform: str, metric: str, end: date) -> float | None:
    levels = [r for r in rows if r.platform == platform and r.metric == metric and r.day <= end]
    return max(levels, key=lambda row: row.day).value if levels else None


def _divide(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def _net_followers(
    sums: dict[tuple[str, str], float],
    data: SummaryInput,
    platform: str,
    start: date,
    end: date,
) -> float | None:
    """New minus lost followers; failing those, the change of the follower level."""
    new, lost = sums.get((platform, "new_followers")), sums.get((platform, "unfollows"))
    if new is not None or lost is not None:
        return (new or 0.0) - (lost or 0.0)
    before = data.followers_before.get((platform, start))
    after = _last_level(data.kpis, platform, "followers", end)
    if before is None or after is None:
        return None
    return after - before


def _platform_figures(
    data: SummaryInput,
    platform: str,
    week_end: date,
    now_sums: dict[tuple[str, str], float],
    before_sums: dict[tuple[str, str], float],
) -> PlatformFigures:
    start, previous_start = data.week_start, data.week_start - timedelta(days=7)
    previous_end = previous_start + (week_end - start)  # the same days, for a partial week

    def figure(metric: str) -> Figure:
        return Figure(now_sums.get((platform, metric)), before_sums.get((platform, metric)))

    figures = {metric: figure(metric) for metric in HEADLINE_METRICS}
    figures["net_followers"] = Figure(
        _net_followers(now_sums, data, platform, start, week_end),
        _net_followers(before_sums, data, platform, previous_start, previous_end),
    )
    for metric in OTHER_METRICS:
        if (platform, metric) in now_sums or (platform, metric) in before_sums:
            figures[metric] = figure(metric)
    reads, shares, conversions = (figures[m] for m in HEADLINE_METRICS)
    followers_now = data.followers_before.get((platform, start))
    followers_then = data.followers_before.get((platform, previous_start))
    return PlatformFigures(
        platform=platform,
        figures=figures,
        new_followers=now_sums.get((platform, "new_followers")),
        unfollows=now_sums.get((platform, "unfollows")),
        read_rate=Figure(
            _divide(reads.value, followers_now), _divide(reads.previous, followers_then)
        ),
        share_rate=Figure(
            _divide(shares.value, reads.value), _divide(shares.previous, reads.previous)
        ),
        conversion_rate=Figure(
            _divide(conversions.value, reads.value), _divide(conversions.previous, reads.previous)
        ),
        sources=_sources(data.kpis, platform, start, week_end),
    )


def _days_in_month(day: date) -> int:
    next_month = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return (next_month - timedelta(days=1)).day


def _target_progress(data: SummaryInput, week_end: date) -> list[TargetProgress]:
    month_start = week_end.replace(day=1)
    pace = week_end.day / _days_in_month(week_end)
    month_sums = _sums(data.kpis, month_start, week_end)
    progress = []
    for target in sorted(
        data.targets,
        key=lambda t: (t.platform, METRIC_KEYS.index(t.metric) if t.metric in METRIC_KEYS else 99),
    ):
        if is_cumulative(target.metric):
            actual = _last_level(data.kpis, target.platform, target.metric, week_end) or 0.0
        else:
            actual = month_sums.get((target.platform, target.metric), 0.0)
        progress.append(
            TargetProgress(target.platform, target.metric, target.month, actual, target.value, pace)
        )
    return progress


def _local_day(instant: datetime | None, zone: ZoneInfo) -> date | None:
    return None if instant is None else instant.astimezone(zone).date()


def _publishing(data: SummaryInput, week_end: date) -> PublishingRecord:
    planned = [
        post for post in data.posts
        if _between(post.planned_at.astimezone(data.zone).date(), data.week_start, week_end)
    ]  # fmt: skip
    published = [post for post in planned if post.status == "published"]
    on_time = [
        post for post in published
        if post.published_at is not None and post.published_at <= post.planned_at + ON_TIME_GRACE
    ]  # fmt: skip
    # Every state a post waits in before it goes out; one sent back for changes too.
    still_open = ("planned", "author_confirmed", "confirmed", "changes_requested")
    overdue = [post for post in planned if post.status in still_open and post.planned_at < data.now]
    return PublishingRecord(
        planned=len(planned),
        published=len(published),
        on_time=len(on_time),
        slipped=len(published) - len(on_time) + len(overdue),
        cancelled=sum(post.status == "cancelled" for post in planned),
    )


def _pipeline(data: SummaryInput, week_end: date) -> Pipeline:
    def in_week(instant: datetime | None) -> bool:
        day = _local_day(instant, data.zone)
        return day is not None and _between(day, data.week_start, week_end)

    backlog = {"high": 0, "mid": 0, "low": 0}
    for topic in data.topics:  # the backlog as of the week: not topics captured after it
        created = _local_day(topic.created_at, data.zone)
        if topic.status == "idea" and created is not None and created <= week_end:
            backlog[topic.priority] += 1
    return Pipeline(
        captured=sum(in_week(topic.created_at) for topic in data.topics),
        scheduled=len({p.topic_id for p in data.posts if p.topic_id and in_week(p.created_at)}),
        published=len({p.topic_id for p in data.posts if p.topic_id and in_week(p.published_at)}),
        backlog=backlog,
    )


def _participation(data: SummaryInput, week_end: date) -> Participation:
    """Stand-ups on the workdays that have passed, from members who were in the team that
    day and not away; tasks of the days counted."""
    workdays = data.workdays or [data.week_start + timedelta(days=offset) for offset in range(5)]
    workdays = [day for day in workdays if day <= week_end]
    expected = {
        (m.id, day)
        for m in data.members
        for day in workdays
        if not is_away(m, day) and m.created_at.astimezone(data.zone).date() <= day
    }
    answered = {(s.member, s.day) for s in data.standups} & expected
    tasks = [
        t
        for t in data.tasks
        if t.status != "dropped"
        and t.day is not None
        and _between(t.day, data.week_start, week_end)
    ]
    return Participation(
        answered=len(answered),
        expected=len(expected),
        tasks_done=sum(task.status == "done" for task in tasks),
        tasks_total=len(tasks),
        blockers=sum(bool(s.blockers) for s in data.standups),
    )


def _post_reads(metrics: dict[str, float]) -> float:
    """A post's reads, or its readers where the platform counts only those (公众号's
    per-article totals give readers)."""
    return metrics.get("reads", metrics.get("users", 0.0))


def _top_posts(data: SummaryInput, week_end: date) -> list[TopPost]:
    def published_this_week(post: Post) -> bool:
        day = _local_day(post.published_at, data.zone)
        return day is not None and _between(day, data.week_start, week_end)

    published = [
        post for post in data.posts
        if post.status == "published" and published_this_week(post) and post.id in data.post_metrics
    ]  # fmt: skip
    published.sort(key=lambda post: -_post_reads(data.post_metrics[post.id or 0]))
    return [
        TopPost(post, data.post_metrics[post.id or 0], data.tiers.get(post.id or 0))
        for post in published[:TOP_POSTS]
    ]


def _notes(
    platforms: list[PlatformFigures], summary: WeeklySummary
) -> tuple[list[Note], list[Note]]:
    changes = [
        (figure.change, platform.platform, metric)
        for platform in platforms
        for metric, figure in platform.figures.items()
        if figure.change is not None
    ]
    gains = sorted((c for c in changes if c[0] > 0), reverse=True)
    drops = sorted(c for c in changes if c[0] < 0)
    highlights, problems = [], []
    top = summary.top_posts[0] if summary.top_posts else None
    for change, platform, metric in gains[:2]:
        params: dict[str, object] = {"platform": platform, "metric": metric, "change": change}
        figures = next(p for p in platforms if p.platform == platform).figures
        if top and metric == "reads" and top.post.platform == platform and figures["reads"].value:
            params.update(
                title=top.post.title, share=top.metrics.get("reads", 0.0) / figures["reads"].value
            )
            highlights.append(Note("summary.note.gain_with_post", params))
        else:
            highlights.append(Note("summary.note.gain", params))
    targets = [t for p in platforms for t in p.targets if t.progress is not None]
    for target in sorted(
        (t for t in targets if t.on_pace), key=lambda t: t.pace - (t.progress or 0)
    )[:1]:
        highlights.append(Note("summary.note.target_ahead", _target_params(target)))
    for change, platform, metric in drops[:2]:
        problems.append(
            Note("summary.note.drop", {"platform": platform, "metric": metric, "change": change})
        )
    for target in sorted(
        (t for t in targets if not t.on_pace), key=lambda t: (t.progress or 0) - t.pace
    )[:2]:
        problems.append(Note("summary.note.target_behind", _target_params(target)))
    if summary.publishing.slipped:
        problems.append(Note("summary.note.slipped", {"count": summary.publishing.slipped}))
    rate = summary.participation.rate
    if rate is not None and rate < LOW_PARTICIPATION:
        problems.append(Note("summary.note.low_participation", {"rate": rate}))
    if not highlights and not problems:
        highlights.append(Note("summary.note.steady", {}))
    return highlights[:MAX_HIGHLIGHTS], problems[:MAX_PROBLEMS]


def _target_params(target: TargetProgress) -> dict[str, object]:
    return {
        "platform": target.platform,
        "metric": target.metric,
        "month": int(target.month[5:]),
        "progress": target.progress,
        "points": round(abs((target.progress or 0) - target.pace) * 100),
    }


def build_weekly_summary(data: SummaryInput) -> WeeklySummary:
    full_end = data.week_start + timedelta(days=6)
    week_end = min(full_end, data.as_of) if data.as_of else full_end
    counted_days = (week_end - data.week_start).days
    previous_start = data.week_start - timedelta(days=7)
    targets = _target_progress(data, week_end)
    # A platform without figures this week is left out: a row of dashes says nothing.
    names = sorted(
        {row.platform for row in data.kpis if _between(row.day, data.week_start, week_end)}
    )
    now_sums = _sums(data.kpis, data.week_start, week_end)
    before_sums = _sums(data.kpis, previous_start, previous_start + timedelta(days=counted_days))
    platforms = []
    for name in names:
        figures = _platform_figures(data, name, week_end, now_sums, before_sums)
        figures.targets = [t for t in targets if t.platform == name]
        platforms.append(figures)
    summary = WeeklySummary(
        team_name=data.team_name,
        week_start=data.week_start,
        week_end=week_end,
        platforms=platforms,
        top_posts=_top_posts(data, week_end),
        publishing=_publishing(data, week_end),
        pipeline=_pipeline(data, week_end),
        participation=_participation(data, week_end),
        highlights=[],
        problems=[],
        partial_until=week_end if week_end < full_end else None,
    )
    summary.highlights, summary.problems = _notes(platforms, summary)
    return summary


CHART_METRICS = ("reads", "shares", "conversions", "net_followers")


def weekly_series(
    kpis: Iterable[KpiDaily], *, last_week_start: date, weeks: int = 8
) -> dict[str, dict[str, list[float | None]]]:
    """Per platform and main metric, the weekly totals of the `weeks` weeks ending with the
    week that starts on `last_week_start` (oldest first; None for a week with no data)."""
    starts = [last_week_start - timedelta(days=7 * back) for back in range(weeks - 1, -1, -1)]
    index_of = {start: position for position, start in enumerate(starts)}
    series: dict[str, dict[str, list[float | None]]] = {}
    for row in kpis:
        monday = row.day - timedelta(days=row.day.weekday())
        if monday not in index_of or row.metric not in (
            "reads",
            "shares",
            "conversions",
            "new_followers",
            "unfollows",
        ):
            continue
        platform = series.setdefault(row.platform, {m: [None] * weeks for m in CHART_METRICS})
        metric = row.metric if row.metric in CHART_METRICS else "net_followers"
        sign = -1.0 if row.metric == "unfollows" else 1.0
        values = platform[metric]
        position = index_of[monday]
        values[position] = (values[position] or 0.0) + sign * row.value
    return series
