"""Each person's week, as a lead reads it in a one-to-one: a pure function of the
weekly summary's data (`SummaryInput`), so the numbers can be worked out by hand.

For one member: the posts they own that went out in the week, on time (within the hour,
as the team's record counts it) or late, with the reads and shares those posts got; the
topics they proposed that week and how many of them are scheduled or out; their tasks
of the week's days done against planned, in number and in estimated hours (dropped
tasks count for neither); their stand-ups on the workdays they were in the team and not
away; and the blockers they raised.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from handlers.standup import is_away
from handlers.standup_history import blocker_items
from handlers.weekly_summary import ON_TIME_GRACE, SummaryInput
from storage.members import MemberLine

SCHEDULED = ("scheduled", "published")


@dataclass(frozen=True)
class MemberWeek:
    member: MemberLine
    published: int
    on_time: int
    reads: float | None  # of their posts out this week (None: no figures yet)
    shares: float | None
    proposed: int
    scheduled: int
    tasks_done: int
    tasks_planned: int
    hours_done: float
    hours_planned: float
    answered: int
    expected: int
    blockers: int

    @property
    def late(self) -> int:
        return self.published - self.on_time


def _in_week(day: date | None, start: date, end: date) -> bool:
    return day is not None and start <= day <= end


def member_week(data: SummaryInput, member: MemberLine, week_end: date) -> MemberWeek:
    start, zone = data.week_start, data.zone

    def local_day(instant: datetime | None) -> date | None:
        return None if instant is None else instant.astimezone(zone).date()

    posts = [
        post for post in data.posts
        if post.owner == member.id and post.status == "published"
        and _in_week(local_day(post.published_at), start, week_end)
    ]  # fmt: skip
    on_time = sum(
        1 for post in posts
        if post.published_at is not None and post.published_at <= post.planned_at + ON_TIME_GRACE
    )  # fmt: skip
    figures = [data.post_metrics.get(post.id or 0, {}) for post in posts]

    def total(metric: str, fallback: str | None = None) -> float | None:
        values = [
            value
            for f in figures
            if (value := f.get(metric, f.get(fallback) if fallback else None)) is not None
        ]
        return sum(values) if values else None

    proposed = [
        topic for topic in data.topics
        if topic.created_by == member.id and _in_week(local_day(topic.created_at), start, week_end)
    ]  # fmt: skip
    tasks = [
        task for task in data.tasks
        if task.owner == member.id and task.status != "dropped"
        and _in_week(task.day, start, week_end)
    ]  # fmt: skip
    done = [task for task in tasks if task.status == "done"]
    workdays = data.workdays or [start + timedelta(days=n) for n in range(5)]
    joined = member.created_at.astimezone(zone).date()
    expected = [
        day for day in workdays
        if day <= week_end and joined <= day and not is_away(member, day)
    ]  # fmt: skip
    answers = [answer for answer in data.standups if answer.member == member.id]
    answered = {answer.day for answer in answers} & set(expected)
    return MemberWeek(
        member=member,
        published=len(posts),
        on_time=on_time,
        reads=total("reads", "users"),
        shares=total("shares"),
        proposed=len(proposed),
        scheduled=sum(1 for topic in proposed if topic.status in SCHEDULED),
        tasks_done=len(done),
        tasks_planned=len(tasks),
        hours_done=sum(task.estimate_minutes or 0 for task in done) / 60,
        hours_planned=sum(task.estimate_minutes or 0 for task in tasks) / 60,
        answered=len(answered),
        expected=len(expected),
        blockers=sum(1 for answer in answers if blocker_items(answer.blockers)),
    )
