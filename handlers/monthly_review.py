"""The monthly review (月度复盘): the month against its targets, posted on its own.

On the first workday of a month (`schedule.monthly_review`, default the 1st at 10:00,
moved to the next workday when the 1st is a day off) the team's channel gets last
month: each platform's targets against what was reached, the best and the weakest post
by reads, each person's month in one line (posts published, on time; tasks done of those
planned; stand-ups answered of the workdays they were there), and the lessons recorded
in the playbook that month. `/summary month [YYYY-MM]` (`/周报 月报`) shows it any time.
Campaigns join it with the editorial calendar.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from bot.core.commands import Context
from bot.core.errors import CommandError
from bot.core.jobs import TEAM, CronJob, Outgoing
from bot.core.messages import Audience, Reply, Section
from bot.vocab.metrics import METRIC_KEYS, is_cumulative, metric_name
from bot.vocab.numbers import format_number, format_percent
from bot.vocab.when import local_midnight
from handlers.kpi import parse_month, period_totals
from handlers.publish import quoted_title
from handlers.standup import is_away
from handlers.summary import family
from handlers.weekly_summary import ON_TIME_GRACE
from storage import kpis as kpi_store
from storage import members as member_store
from storage import playbook as playbook_store
from storage import posts as post_store
from storage import standups as standup_store
from storage import tasks as task_store
from storage.members import MemberLine
from storage.models import Lesson
from storage.posts import PostLine

LAST_MONTH_WORDS = {"last", "上月", "上个月"}


@dataclass(frozen=True)
class TargetResult:
    platform: str
    metric: str
    actual: float
    target: float

    @property
    def share(self) -> float | None:
        return None if self.target == 0 else self.actual / self.target


@dataclass(frozen=True)
class PersonMonth:
    member: MemberLine
    published: int
    on_time: int
    tasks_done: int
    tasks: int
    answered: int
    expected: int


@dataclass
class MonthlyReview:
    month: str  # YYYY-MM
    first: date
    last: date
    # The share of the month gone by (1 for a month that is over): a month under way is
    # judged against it, as the weekly summary's targets are.
    pace: float = 1.0
    targets: list[TargetResult] = field(default_factory=list)
    best: tuple[PostLine, float] | None = None
    weakest: tuple[PostLine, float] | None = None
    people: list[PersonMonth] = field(default_factory=list)
    lessons: list[Lesson] = field(default_factory=list)


def month_bounds(month: str) -> tuple[date, date]:
    first = date(int(month[:4]), int(month[5:]), 1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def _reads(metrics: dict[str, float]) -> float | None:
    """A post's reads, or its readers where the platform counts only those."""
    return metrics.get("reads", metrics.get("users"))


def build_review(ctx: Context, month: str) -> MonthlyReview:
    team, zone = ctx.team, ctx.team.zone
    first, last = month_bounds(month)
    today = ctx.today()
    days = (last - first).days + 1
    pace = 1.0 if today > last else max(0, (today - first).days + 1) / days
    review = MonthlyReview(month, first, last, pace)
    totals = period_totals(
        kpi_store.daily_values(ctx.session, team_id=team.id, start=first, end=last)
    )
    targets = kpi_store.targets_for_month(ctx.session, team_id=team.id, month=month)
    order = {metric: index for index, metric in enumerate(METRIC_KEYS)}
    for target in sorted(targets, key=lambda t: (t.platform, order.get(t.metric, 99))):
        actual = totals.get(target.platform, {}).get(target.metric, 0.0)
        review.targets.append(TargetResult(target.platform, target.metric, actual, target.value))

    start, end = local_midnight(first, zone), local_midnight(last + timedelta(days=1), zone)
    published = post_store.posts_published_between(
        ctx.session, team_id=team.id, start=start, end=end
    )
    metrics = kpi_store.post_metrics(ctx.session, post_ids=[p.id for p in published if p.id])
    ranked = sorted(
        ((post, reads) for post in published
         if (reads := _reads(metrics.get(post.id or 0, {}))) is not None),
        key=lambda pair: -pair[1],
    )  # fmt: skip
    if ranked:
        review.best = ranked[0]
    if len(ranked) > 1:
        review.weakest = ranked[-1]

    tasks = task_store.tasks_between(ctx.session, team_id=team.id, start=first, end=last)
    answers = standup_store.standups_between(ctx.session, team_id=team.id, start=first, end=last)
    answered_days = {(answer.member, answer.day) for answer in answers}
    today = ctx.today()
    for member in member_store.list_members(ctx.session, team_id=team.id):
        joined = ctx.local(member.created_at).date()
        workdays = [
            first + timedelta(days=n)
            for n in range((last - first).days + 1)
            if team.is_workday(first + timedelta(days=n))
        ]
        expected = [day for day in workdays if joined <= day <= today and not is_away(member, day)]
        own_posts = [post for post in published if post.owner == member.id]
        own_tasks = [task for task in tasks if task.owner == member.id and task.status != "dropped"]
        review.people.append(
            PersonMonth(
                member=member,
                published=len(own_posts),
                on_time=sum(
                    1 for post in own_posts
                    if post.published_at is not None
                    and post.published_at <= post.planned_at + ON_TIME_GRACE
                ),
                tasks_done=sum(1 for task in own_tasks if task.status == "done"),
                tasks=len(own_tasks),
                answered=sum(1 for day in expected if (member.id, day) in answered_days),
                expected=len(expected),
            )
        )  # fmt: skip
    review.lessons = playbook_store.lessons_between(
        ctx.session, team_id=team.id, start=start, end=end
    )
    return review


def render_review(ctx: Context, review: MonthlyReview) -> Reply:
    t = ctx.t
    month_name = t(f"month.{review.first.month}")
    title = t("review.title", team=ctx.team.display_name, year=review.first.year, month=month_name)
    sections = []
    if review.targets:
        lines = []
        for result in review.targets:
            reached = result.share is not None and result.share >= review.pace
            key = "review.target" if review.pace >= 1 else "review.target_so_far"
            lines.append(t(
                key, pace=format_percent(review.pace, digits=0),
                platform=ctx.content_platforms.name(result.platform, ctx.locale),
                metric=metric_name(result.metric, ctx.locale),
                actual=format_number(result.actual), target=format_number(result.target),
                share=format_percent(result.share, digits=0), mark="✅" if reached else "⚠️",
                kind=t("review.level" if is_cumulative(result.metric) else "review.total"),
            ))  # fmt: skip
        sections.append(Section(title=t("review.targets_title"), lines=lines))
    else:
        sections.append(Section(title=t("review.no_targets", month=review.month)))
    posts = []
    for key, pair in (("review.best", review.best), ("review.weakest", review.weakest)):
        if pair is not None:
            post, reads = pair
            platform = ctx.content_platforms.name(post.platform, ctx.locale)
            quoted = quoted_title(ctx, post.title)
            posts.append(t(key, title=quoted, reads=format_number(reads), platform=platform))
    if posts:
        sections.append(Section(title=t("review.posts_title"), lines=posts))
    people = [
        t(
            "review.person",
            name=person.member.name,
            published=person.published,
            on_time=person.on_time,
            done=person.tasks_done,
            tasks=person.tasks,
            answered=person.answered,
            expected=person.expected,
        )
        for person in review.people
    ]
    sections.append(Section(title=t("review.people_title"), lines=people))
    if review.lessons:
        sections.append(Section(
            title=t("review.lessons_title", count=len(review.lessons)),
            lines=[t("review.lesson", id=lesson.id, text=lesson.text,
                     tags=" ".join(f"#{tag}" for tag in lesson.tags)).rstrip()
                   for lesson in review.lessons],
        ))  # fmt: skip
    else:
        sections.append(Section(title=t("review.no_lessons")))
    return Reply(title, sections=sections, audience=Audience.CHANNEL)


def previous_month(day: date) -> str:
    last = day.replace(day=1) - timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


def _review_of_last_month(ctx: Context, day: date) -> list[Outgoing]:
    return [Outgoing(TEAM, render_review(ctx, build_review(ctx, previous_month(day))))]


MONTHLY_REVIEW = CronJob(
    "monthly_review",
    cron=lambda team: team.schedule.monthly_review,
    build=_review_of_last_month,
    period=lambda scheduled, fire: previous_month(scheduled),  # once per month reviewed
    next_workday=True,  # a 1st that is a day off: the next workday
)


@family.subcommand("month", "月报", reads_only=True)
def show_month(ctx: Context, args: list[str]) -> Reply:
    """`[YYYY-MM|last]`: this month so far, or the month named."""
    if len(args) > 1:
        raise CommandError("review.error.one_month")
    today = ctx.today()
    if not args:
        month = f"{today.year:04d}-{today.month:02d}"
    elif args[0].casefold() in LAST_MONTH_WORDS:
        month = previous_month(today)
    else:
        month = review_month(args[0], today=today)
    if month > f"{today.year:04d}-{today.month:02d}":
        raise CommandError("review.error.future", month=month, show_usage=False)
    return render_review(ctx, build_review(ctx, month))


_CHINESE_MONTH = re.compile(r"^(?:(\d{4})年)?(\d{1,2})月$")


def review_month(word: str, *, today: date) -> str:
    """`2026-11`, `2026年11月`, or `11月` (this year) → `2026-11`."""
    chinese = _CHINESE_MONTH.match(word.strip())
    if chinese is not None and 1 <= int(chinese.group(2)) <= 12:
        year = int(chinese.group(1) or today.year)
        month = f"{year:04d}-{int(chinese.group(2)):02d}"
    else:
        month = parse_month(word)
    if not 1970 <= int(month[:4]) <= 2100:  # a calendar the review can walk through
        raise CommandError("kpi.error.bad_month", value=word[:20])
    return month
