"""Publish reminders (SPEC §4): who to nudge before a post that is not yet confirmed.

`reminders_due` is a pure function of the posts, the members and the time, so the
scheduler can call it on every tick and tests can drive it with the clock. The
`PUBLISH_REMINDER` job gives each (post, recipient) its own ledger period, so each is
reminded once.

A tick asks first, in one read for all its teams, which teams have an unconfirmed post
coming up within their lead (`teams_due`); only those read their posts and members.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.core.commands import Context
from bot.core.config import TeamSettings
from bot.core.i18n import Translator
from bot.core.jobs import EventJob, Occurrence, Outgoing, member_target
from bot.core.messages import Button, Reply, Tone
from bot.vocab.content_platforms import PlatformCatalogue
from handlers.publish import review_buttons
from storage import members as member_store
from storage import posts as post_store
from storage.members import MemberLine
from storage.models import Post

# Not yet confirmed by both; a post sent back for changes waits for its author again.
UNCONFIRMED = ("planned", "author_confirmed", "changes_requested")
AWAITING_AUTHOR = ("planned", "changes_requested")
REVIEWER_ROLES = ("editor", "admin")


@dataclass(frozen=True)
class PublishReminder:
    post_id: int
    recipient: str  # member id
    reason: str  # author | changes | reviewer_waiting | reviewer

    @property
    def period(self) -> str:
        """The ledger key that makes this reminder go out once."""
        return f"post-{self.post_id}:{self.recipient}"


def reminders_due(
    posts: Iterable[Post],
    members: Iterable[MemberLine],
    *,
    now: datetime,
    lead: timedelta,
    zone: ZoneInfo | None = None,
) -> list[PublishReminder]:
    """Reminders for unconfirmed posts planned within `lead` from `now`.

    The author is told while their own confirmation is missing — with the reviewer's
    reason when the post was sent back for changes; the reviewer is told in every state,
    as a heads-up while the author is pending, as a request after. With no named
    reviewer, every editor and admin other than the author counts as the reviewer.
    """
    members = list(members)
    # A removed (or unknown) member is told nothing, nor is one away on the post's day.
    reachable = {m.id for m in members}
    away = {
        (m.id, day)
        for m in members
        if m.away_from and m.away_to
        for day in _days(m.away_from, m.away_to)
    }
    reviewers_by_default = [m.id for m in members if m.role in REVIEWER_ROLES]
    due = []
    for post in sorted(posts, key=lambda post: (post.planned_at, post.id or 0)):
        if post.status not in UNCONFIRMED or not now < post.planned_at <= now + lead:
            continue
        assert post.id is not None
        day = post.planned_at.astimezone(zone).date() if zone else post.planned_at.date()
        reachable_now = {m for m in reachable if (m, day) not in away}
        if post.status in AWAITING_AUTHOR and post.owner in reachable_now:
            author_reason = "changes" if post.status == "changes_requested" else "author"
            due.append(PublishReminder(post.id, post.owner, author_reason))
        reviewers = [post.reviewer] if post.reviewer else reviewers_by_default
        reason = "reviewer_waiting" if post.status in AWAITING_AUTHOR else "reviewer"
        due.extend(
            PublishReminder(post.id, reviewer, reason)
            for reviewer in reviewers
            if reviewer != post.owner and reviewer in reachable_now
        )
    return due


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def render_publish_reminder(
    reminder: PublishReminder,
    post: Post,
    *,
    t: Translator,
    content_platforms: PlatformCatalogue,
    zone: ZoneInfo,
    names: dict[str, str],
) -> Reply:
    """The direct message one person gets about one post."""
    text = t(
        f"reminder.publish.{reminder.reason}",
        title=t("publish.quoted_title", title=post.title),
        time=post.planned_at.astimezone(zone).strftime("%H:%M"),
        platform=content_platforms.name(post.platform, t.locale),
        owner=names.get(post.owner, post.owner),
        id=post.id,
        by=names.get(post.changes_requested_by or "", post.changes_requested_by),
        reason=post.changes_requested_reason,
    )
    buttons = []
    if reminder.reason == "reviewer":  # confirm, or send it back (handlers.publish)
        buttons = review_buttons(t, post.id)
    elif reminder.reason != "reviewer_waiting":
        buttons.append(Button(t("button.confirm"), f"/publish confirm {post.id}", "primary"))
    return Reply(text, tone=Tone.WARNING, buttons=buttons)


class _Reminders:
    """The publish reminders due in a team (`due` of the job), and which of many teams
    may have one (`teams_due`, the scheduler's one read a tick)."""

    def __call__(self, ctx: Context) -> list[Occurrence]:
        return _reminders(ctx)

    def teams_due(self, session: Session, teams: Sequence[TeamSettings], now: datetime) -> set[str]:
        """The teams with a post not yet confirmed planned within their lead of `now`."""
        leads = {team.id: _lead(team) for team in teams}
        if not leads:
            return set()
        planned = _unconfirmed_posts_planned(
            session, team_ids=leads, after=now, until=now + max(leads.values())
        )
        return {
            team_id for team_id, at in planned if team_id in leads and at <= now + leads[team_id]
        }


TEAMS_PER_READ = 500  # more teams than that: every team's posts, filtered here


def _unconfirmed_posts_planned(
    session: Session, *, team_ids: Iterable[str], after: datetime, until: datetime
) -> list[tuple[str, datetime]]:
    """(team, planned time) of the posts not yet confirmed planned in (after, until]."""
    statement = select(Post.team_id, Post.planned_at).where(
        col(Post.status).in_(UNCONFIRMED), Post.planned_at > after, Post.planned_at <= until
    )
    wanted = list(team_ids)
    if len(wanted) <= TEAMS_PER_READ:
        statement = statement.where(col(Post.team_id).in_(wanted))
    return [
        (team_id, at if at.tzinfo is not None else at.replace(tzinfo=UTC))
        for team_id, at in session.exec(statement)
    ]


def _lead(team: TeamSettings) -> timedelta:
    return timedelta(minutes=team.schedule.publish_reminder_minutes)


def _reminders(ctx: Context) -> list[Occurrence]:
    now = ctx.now()
    lead = _lead(ctx.team)
    posts = post_store.posts_between(
        ctx.session, team_id=ctx.team.id, start=now, end=now + lead + timedelta(seconds=1),
        statuses=UNCONFIRMED,
    )  # fmt: skip
    if not posts:
        return []
    members = member_store.list_members(ctx.session, team_id=ctx.team.id)
    reminders = reminders_due(posts, members, now=now, lead=lead, zone=ctx.team.zone)
    if not reminders:
        return []
    by_id = {post.id: post for post in posts}
    names = member_store.member_names(ctx.session, team_id=ctx.team.id)

    def occurrence(reminder: PublishReminder) -> Occurrence:
        post = by_id[reminder.post_id]

        def build(ctx: Context) -> list[Outgoing]:
            reply = render_publish_reminder(
                reminder, post, t=ctx.t, content_platforms=ctx.content_platforms,
                zone=ctx.team.zone, names=names,
            )  # fmt: skip
            return [Outgoing(member_target(reminder.recipient), reply)]

        return Occurrence(reminder.period, build)

    return [occurrence(reminder) for reminder in reminders]


PUBLISH_REMINDER = EventJob("publish_reminder", due=_Reminders())
