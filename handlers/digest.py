"""`/digest` (`/日报`): the morning digest — today's posts, what needs attention, everyone's
tasks, the stand-up, the best topics waiting, and yesterday's published posts.

`gather_digest` reads the data; `build_digest` words it. The `DIGEST` job posts the same
reply to the team's channel each workday morning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Row

from bot.core.commands import CommandFamily, Context
from bot.core.errors import CommandError
from bot.core.jobs import TEAM, CronJob, Outgoing
from bot.core.messages import Audience, Reply, Section
from bot.vocab.when import local_midnight, parse_date
from handlers.calendar import CalendarEntry, digest_entries, digest_line
from handlers.campaigns import campaign_warnings
from handlers.day_plan import DayPlan, plan_head
from handlers.publish import post_row, quoted_title
from handlers.standup import is_away
from handlers.tasks import plan_heading, plan_rows
from handlers.topics import topic_row
from storage import members as member_store
from storage import playbook as playbook_store
from storage import posts as post_store
from storage import standups as standup_store
from storage import tasks as task_store
from storage import topics as topic_store
from storage.members import MemberLine
from storage.models import Lesson, Topic
from storage.posts import PostLine
from storage.standups import StandupLine
from storage.team_rows import get_in_team
from storage.topics import BacklogFilter, HotIdea

family = CommandFamily("digest", aliases=("日报",))

TOP_TOPICS = 3
# A person's tasks the digest shows (in timeline order): a post the whole team reads,
# where someone's fortieth task is noise; the rest are in `/task list @member`.
TASKS_SHOWN = 8


@dataclass
class DigestInput:
    day: date
    now: datetime
    posts_today: Sequence[PostLine]
    published_yesterday: Sequence[PostLine]
    top_topics: Sequence[Row[Any]]  # the first of the backlog, with their votes
    hot_topics: Sequence[HotIdea]
    members: Sequence[MemberLine]
    plans: dict[str, DayPlan]  # each member's day, only the tasks the digest shows
    standups: Sequence[StandupLine]
    # The newest playbook lesson tagged like one of today's posts (their topics' tags).
    lesson: Lesson | None = None
    lesson_tag: str | None = None
    # The marketing dates of the next `marketing_calendar.lead_days` days (handlers/calendar.py).
    marketing: Sequence[CalendarEntry] = ()


def gather_digest(ctx: Context, day: date) -> DigestInput:
    zone, team = ctx.team.zone, ctx.team.id
    start, end = local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone)
    top, _ = topic_store.backlog_page(
        ctx.session, team_id=team, wanted=BacklogFilter(), limit=TOP_TOPICS
    )
    posts_today = post_store.post_lines_between(ctx.session, team_id=team, start=start, end=end)
    tags = [
        tag
        for post in posts_today
        if post.topic_id is not None
        and (topic := get_in_team(ctx.session, Topic, team_id=team, row_id=post.topic_id))
        for tag in topic.tags
    ]
    lessons = playbook_store.lessons_tagged_any(ctx.session, team_id=team, tags=tags, limit=1)
    lesson = lessons[0] if lessons else None
    return DigestInput(
        lesson=lesson,
        lesson_tag=next((tag for tag in lesson.tags if tag in tags), None) if lesson else None,
        marketing=digest_entries(ctx, day),
        day=day,
        now=ctx.now(),
        posts_today=posts_today,
        published_yesterday=post_store.posts_published_between(
            ctx.session,
            team_id=team,
            start=local_midnight(day - timedelta(days=1), zone),
            end=start,
        ),
        top_topics=top,
        hot_topics=topic_store.hot_ideas(ctx.session, team_id=team),
        members=member_store.list_members(ctx.session, team_id=team),
        plans=_plan_heads(ctx, day),
        standups=standup_store.standups_for_day(ctx.session, team_id=team, day=day),
    )


def _plan_heads(ctx: Context, day: date) -> dict[str, DayPlan]:
    heads: dict[str, list[Row[Any]]] = {}
    for row in task_store.plan_heads(ctx.session, team_id=ctx.team.id, day=day, shown=TASKS_SHOWN):
        heads.setdefault(row.owner, []).append(row)
    return {
        owner: plan_head(rows, open_count=rows[0].open_count, open_minutes=rows[0].open_minutes,
                         day=day, workday=ctx.team.workday)
        for owner, rows in heads.items()
    }  # fmt: skip


def _attention(ctx: Context, data: DigestInput, names: dict[str, str]) -> list[str]:
    lines = []
    for post in data.posts_today:
        if post.status == "changes_requested":  # with the reason: what is still to change
            lines.append(
                ctx.t(
                    "digest.changes_requested",
                    title=quoted_title(ctx, post.title),
                    time=ctx.local(post.planned_at).strftime("%H:%M"),
                    by=names.get(post.changes_requested_by or "", post.changes_requested_by),
                    reason=post.changes_requested_reason,
                    owner=names.get(post.owner, post.owner),
                )
            )
            continue
        if post.status not in ("planned", "author_confirmed"):
            continue
        key = (
            "digest.unconfirmed_both" if post.status == "planned" else "digest.unconfirmed_reviewer"
        )
        lines.append(
            ctx.t(
                key,
                title=quoted_title(ctx, post.title),
                time=ctx.local(post.planned_at).strftime("%H:%M"),
                reviewer=names.get(post.reviewer or "", post.reviewer)
                or ctx.t("publish.any_reviewer"),
            )
        )
    for topic in data.hot_topics:
        assert topic.deadline is not None
        hours_left = (topic.deadline - data.now).total_seconds() / 3600
        key = "digest.hot_overdue" if hours_left <= 0 else "digest.hot_due"
        lines.append(
            ctx.t(
                key,
                id=topic.id,
                title=topic.title,
                deadline=ctx.local(topic.deadline).strftime("%H:%M"),
                hours=f"{max(hours_left, 0):.0f}",
            )
        )
    lines += campaign_warnings(ctx, data.day, data.now)  # slipped posts, none confirmed
    return lines


def build_digest(ctx: Context, data: DigestInput) -> Reply:
    names = member_store.member_names(ctx.session, team_id=ctx.team.id)  # removed ones too
    sections = [
        Section(
            title=ctx.t("digest.posts_title", count=len(data.posts_today)),
            rows=[post_row(ctx, post, names) for post in data.posts_today],
            lines=[] if data.posts_today else [ctx.t("publish.nothing_today")],
        )
    ]
    if data.lesson is not None:
        sections.append(
            Section(title=ctx.t("playbook.digest", tag=data.lesson_tag, text=data.lesson.text,
                                id=data.lesson.id))
        )  # fmt: skip
    attention = _attention(ctx, data, names)
    if attention:
        sections.append(
            Section(
                title=ctx.t("digest.attention_title"), lines=[f"· {line}" for line in attention]
            )
        )
    if data.marketing:
        lines = [f"· {digest_line(ctx, entry, data.day)}" for entry in data.marketing]
        sections.append(Section(title=ctx.t("calendar.digest_title"), lines=lines))
    sections.append(Section(title=ctx.t("digest.tasks_title")))
    nothing = plan_head((), open_count=0, open_minutes=0, day=data.day, workday=ctx.team.workday)
    for member in data.members:
        if is_away(member, data.day):
            continue
        plan = data.plans.get(member.id, nothing)
        section = Section(
            title=f"  {plan_heading(ctx, member.name, plan)}",
            rows=[("  ", *row) for row in plan_rows(ctx, plan)],
        )
        if plan.more:  # the rest are one command away
            section.lines.append(ctx.t("digest.more_tasks", count=plan.more, member=member.id))
        sections.append(section)
    answered = {standup.member: standup for standup in data.standups}
    away = [m for m in data.members if is_away(m, data.day) and m.id not in answered]
    expected = [m for m in data.members if m not in away]
    missing = [m for m in expected if m.id not in answered]
    standup_title = ctx.t(
        "digest.standup_title", answered=len(expected) - len(missing), expected=len(expected)
    )
    if missing:
        standup_title += ctx.t("digest.standup_missing", names=", ".join(m.name for m in missing))
    if away:
        standup_title += ctx.t("digest.standup_away", names=", ".join(m.name for m in away))
    sections.append(
        Section(
            title=standup_title,
            lines=[
                f"🚧 {names.get(m, m)}：{s.blockers}" for m, s in answered.items() if s.blockers
            ],
        )
    )
    if data.top_topics:
        sections.append(
            Section(
                title=ctx.t("digest.topics_title", count=len(data.top_topics)),
                rows=[topic_row(ctx, row, row.votes) for row in data.top_topics],
            )
        )
    if data.published_yesterday:
        published = "；".join(
            quoted_title(ctx, post.title)
            + ctx.content_platforms.name(post.platform, ctx.locale)
            + (f" {post.url}" if post.url else "")
            for post in data.published_yesterday
        )
        sections.append(Section(title=ctx.t("digest.yesterday", posts=published)))
    title = ctx.t(
        "digest.title",
        team=ctx.team.display_name,
        month_name=ctx.t(f"month.{data.day.month}"),
        day=data.day.day,
        weekday=ctx.t(f"weekday.{data.day.weekday()}"),
    )
    return Reply(title, sections=sections, audience=Audience.CHANNEL)


def digest_reply(ctx: Context, day: date) -> Reply:
    """The digest of one day, for /digest, `opsbot digest` and the scheduler."""
    return build_digest(ctx, gather_digest(ctx, day))


@family.default_handler(reads_only=True)
def show_digest(ctx: Context, args: list[str]) -> Reply:
    if len(args) > 1:
        raise CommandError("errors.extra_words", words=" ".join(args[1:])[:40])
    day = parse_date(args, today=ctx.today()) if args else ctx.today()
    return digest_reply(ctx, day)


DIGEST = CronJob(
    "digest",
    cron=lambda team: team.schedule.digest,
    build=lambda ctx, day: [Outgoing(TEAM, digest_reply(ctx, day))],
)
