"""The tables of SPEC §8."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    case,
    column,
    literal_column,
    true,
)
from sqlalchemy.sql.elements import Grouping
from sqlmodel import Column, Field, SQLModel, String

from storage.types import UTCDateTime

ROLES = ("admin", "editor", "member")
PRIORITIES = ("high", "mid", "low")
TOPIC_STATUSES = ("idea", "scheduled", "published", "dropped")
QUADRANTS = ("q1", "q2", "q3", "q4")
TASK_STATUSES = ("open", "done", "dropped")
OUTBOX_STATUSES = ("pending", "sending", "sent", "failed")
POST_STATUSES = (
    "planned", "author_confirmed", "confirmed", "changes_requested", "published", "cancelled",
)  # fmt: skip
POST_STATUS_MAX_LENGTH = 32  # "changes_requested" does not fit the 16 of revisions 0002–0009
TITLE_MAX_LENGTH = 200
# Where a daily KPI figure came from, besides the KPI sources' own names.
MANUAL, IMPORTED = "manual", "import"
REASON_MAX_LENGTH = 500  # a reviewer's "not yet: change this", longer than a title
URL_MAX_LENGTH = 1000
MEMBER_NAME_MAX_LENGTH = 100
SERIES_KINDS = ("weekly", "monthly")
CAMPAIGN_REVIEW_STATES = ("pending", "asked", "answered", "posted")
CAMPAIGN_LINK_KINDS = ("topic", "post", "task")
CAMPAIGN_NAME_MAX_LENGTH = 50


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class Member(SQLModel, table=True):
    """A person in a team. `id` is the team-local handle used in commands (`@bob`).

    Who they are on each chat platform is in `identities`, so that the members table
    knows no chat platform by name. A member who left is deactivated (`active` false),
    never deleted: their posts, tasks, stand-ups and votes keep naming them, while
    prompts, counts and mentions skip them.
    """

    __tablename__ = "members"
    __table_args__ = (CheckConstraint(_one_of("role", ROLES), name="ck_members_role"),)

    team_id: str = Field(primary_key=True, max_length=64)
    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=MEMBER_NAME_MAX_LENGTH)
    role: str = Field(default="member", max_length=16)
    away_from: date | None = None
    away_to: date | None = None
    active: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    created_at: datetime = Field(sa_type=UTCDateTime)


class Identity(SQLModel, table=True):
    """A member's id on one chat platform (their Slack user id, Feishu open_id …).

    The primary key makes an id on a platform name at most one member per team — two
    simultaneous first commands of a newcomer cannot register them twice — and the
    unique key gives a member at most one id per platform.
    """

    __tablename__ = "identities"
    __table_args__ = (
        ForeignKeyConstraint(
            ["team_id", "member_id"], ["members.team_id", "members.id"], ondelete="CASCADE"
        ),
        UniqueConstraint("team_id", "member_id", "platform", name="uq_identities_member_platform"),
    )

    team_id: str = Field(primary_key=True, max_length=64)
    platform: str = Field(primary_key=True, max_length=16)
    external_id: str = Field(primary_key=True, max_length=128)
    member_id: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)


def priority_rank(priority: Any) -> ColumnElement[int]:
    """Where a topic's priority ranks in the backlog (high 0, mid 1, low 2), as SQL.

    Written with literal values, not bound ones, so that the backlog index is on the very
    expression the backlog query sorts by: the database then reads a thousand ideas in
    order and stops after the page instead of sorting them all.
    """
    whens: list[tuple[Any, Any]] = [
        (priority == literal_column(f"'{name}'"), literal_column(str(rank)))
        for rank, name in enumerate(PRIORITIES)
    ]
    return case(*whens, else_=literal_column(str(len(PRIORITIES))))


class TopicFields(SQLModel):
    """A topic's columns as a plain model, which `Topic` (the table) inherits.

    `/topic add` builds one and stores it with one INSERT (`insert_new`): a plain model
    is validated in a few microseconds, where building a table model sets each column
    through SQLAlchemy's instrumentation and Pydantic's both, ten times as long — more
    than the INSERT. Whatever only reads a topic takes either (`TopicFields`).
    """

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=64)
    title: str = Field(max_length=TITLE_MAX_LENGTH)
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    platform: str | None = Field(default=None, max_length=32)
    timeliness: int
    value: int
    conversion: int
    score: float
    priority: str = Field(max_length=8)
    status: str = Field(default="idea", max_length=16)
    hot: bool = False
    deadline: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    drop_reason: str | None = Field(default=None, max_length=TITLE_MAX_LENGTH)
    # How many rows of `votes` name this topic (migration 0019), kept by add_vote and
    # remove_vote in the vote's transaction: the backlog sorts by it from its index.
    votes: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class Topic(TopicFields, table=True):
    """An idea in the backlog, scored on timeliness, value and conversion."""

    __tablename__ = "topics"
    __table_args__ = (
        CheckConstraint(_one_of("priority", PRIORITIES), name="ck_topics_priority"),
        CheckConstraint(_one_of("status", TOPIC_STATUSES), name="ck_topics_status"),
        CheckConstraint(
            "timeliness BETWEEN 1 AND 5 AND value BETWEEN 1 AND 5 AND conversion BETWEEN 1 AND 5",
            name="ck_topics_ratings",
        ),
        # The backlog's whole order (storage/topics.py), per team and status: priority,
        # score, votes, then age; the database reads a page in order and sorts nothing.
        Index(
            "ix_topics_backlog",
            "team_id",
            "status",
            Grouping(priority_rank(column("priority"))),  # PostgreSQL wants it in brackets
            column("score").desc(),
            column("votes").desc(),
            "created_at",
            "id",
        ),
    )


class Vote(SQLModel, table=True):
    """One member's vote for one topic; the primary key makes a second vote impossible."""

    __tablename__ = "votes"

    topic_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("topics.id", ondelete="CASCADE"),
            primary_key=True,
            nullable=False,
        )
    )
    member_id: str = Field(sa_column=Column(String(64), primary_key=True, nullable=False))
    voted_at: datetime = Field(sa_type=UTCDateTime)


class Post(SQLModel, table=True):
    """A post in the content calendar, confirmed by its author and then by a reviewer.

    `reviewer` is the reviewer named when the post was planned (or, if none was, the
    editor who confirmed it); `reviewer_confirmed_by` is who actually gave the second
    confirmation, which may be another editor standing in.

    A reviewer may send a post back (`changes_requested`): the `changes_requested_*`
    columns hold the latest such request — why, who, when — and stay after the author
    confirms again, so that the reviewer can check the change against what was asked.
    """

    __tablename__ = "posts"
    __table_args__ = (
        CheckConstraint(_one_of("status", POST_STATUSES), name="ck_posts_status"),
        Index("ix_posts_team_planned_at", "team_id", "planned_at"),
        # The publish reminders' one read a tick: what is planned soon, in every team.
        Index("ix_posts_planned_at", "planned_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=64)
    topic_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("topics.id", ondelete="SET NULL"), nullable=True),
    )
    title: str = Field(max_length=TITLE_MAX_LENGTH)
    platform: str = Field(max_length=32)
    planned_at: datetime = Field(sa_type=UTCDateTime)
    owner: str = Field(max_length=64)
    reviewer: str | None = Field(default=None, max_length=64)
    status: str = Field(default="planned", max_length=POST_STATUS_MAX_LENGTH)
    author_confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reviewer_confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reviewer_confirmed_by: str | None = Field(default=None, max_length=64)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    url: str | None = Field(default=None, max_length=URL_MAX_LENGTH)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    changes_requested_reason: str | None = Field(default=None, max_length=REASON_MAX_LENGTH)
    changes_requested_by: str | None = Field(default=None, max_length=64)
    changes_requested_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # An occurrence of a series (栏目); its day is in `series_occurrences`.
    series_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("series.id", ondelete="SET NULL"), nullable=True),
    )


class TaskFields(SQLModel):
    """A task's columns as a plain model, which `Task` (the table) inherits: what
    `/task add` and the stand-up build and store, for the reason `TopicFields` gives."""

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=64)
    owner: str = Field(max_length=64)
    text: str = Field(max_length=TITLE_MAX_LENGTH)
    quadrant: str = Field(default="q2", max_length=2)
    estimate_minutes: int | None = None
    day: date | None = None  # None: a plan item not yet taken into a day
    week: str | None = Field(default=None, max_length=8)  # ISO week, `2026-W48`
    month: str | None = Field(default=None, max_length=7)  # `2026-12`
    status: str = Field(default="open", max_length=8)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Task(TaskFields, table=True):
    """One person's task for one day, or an item of their week or month plan, placed in
    the important/urgent matrix.

    A day task has `day`; a plan item has `week` (`2026-W48`) or `month` (`2026-12`) and
    no day until it is taken into a day's timeline, when it gets `day` and keeps its week
    or month (so the plan still shows it, and finishing it finishes it there: one row).
    An open task keeps the day, week or month it was planned for; views carry it over to
    today (or this week, this month) and say since when, so nothing has to rewrite old
    rows every morning.
    """

    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint(_one_of("quadrant", QUADRANTS), name="ck_tasks_quadrant"),
        CheckConstraint(_one_of("status", TASK_STATUSES), name="ck_tasks_status"),
        CheckConstraint(
            "estimate_minutes IS NULL OR estimate_minutes > 0", name="ck_tasks_estimate"
        ),
        CheckConstraint(  # a day, a week or a month; never both a week and a month
            "(week IS NULL OR month IS NULL)"
            " AND (day IS NOT NULL OR week IS NOT NULL OR month IS NOT NULL)",
            name="ck_tasks_scope",
        ),
        Index("ix_tasks_team_owner_day", "team_id", "owner", "day"),
        # A day plan's order (migration 0018): each head is read in order, not sorted.
        Index("ix_tasks_plan_order", "team_id", "owner", "status", "quadrant", "day", "id"),
        Index("ix_tasks_team_week_status", "team_id", "week", "status"),
        Index("ix_tasks_team_month_status", "team_id", "month", "status"),
    )


class Standup(SQLModel, table=True):
    """A member's stand-up answer for one day; answering again replaces it."""

    __tablename__ = "standups"
    __table_args__ = (UniqueConstraint("team_id", "member", "day", name="uq_standups_member_day"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=64)
    member: str = Field(max_length=64)
    day: date
    yesterday: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    today: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    blockers: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    answered_at: datetime = Field(sa_type=UTCDateTime)


class KpiDaily(SQLModel, table=True):
    """One platform's value of one metric on one day; logging it again replaces it.

    `source` says where the value came from: `manual` (`/kpi log`), `import` (a file)
    or the name of the KPI source that fetched it (`wechat` …).
    """

    __tablename__ = "kpi_daily"
    __table_args__ = (
        UniqueConstraint("team_id", "platform", "metric", "day", name="uq_kpi_daily"),
        # Every platform's days of a range (the summary, the digest): not the unique
        # key's order, which serves only its first column for that.
        Index("ix_kpi_daily_team_day", "team_id", "day"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=64)
    platform: str = Field(max_length=32)
    day: date
    metric: str = Field(max_length=32)
    value: float
    updated_at: datetime = Field(sa_type=UTCDateTime)
    source: str = Field(default=MANUAL, max_length=32, sa_column_kwargs={"server_default": MANUAL})


class PostMetric(SQLModel, table=True):
    """A metric of one published post (reads, shares … of that article)."""

    __tablename__ = "post_metrics"
    __table_args__ = (UniqueConstraint("post_id", "metric", name="uq_post_metrics"),)

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(
        sa_column=Column(Integer, ForeignKey("posts.id", ondelete="CASCADE"), nullable=False)
    )
    metric: str = Field(max_length=32)
    value: float
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Lesson(SQLModel, table=True):
    """A lesson in the team's playbook (《运营手册》), perhaps learned from one post."""

    __tablename__ = "playbook"
    __table_args__ = (
        Index("ix_playbook_team_created", "team_id", "created_at"),
        # Ids are never given again: a late `/playbook delete 5` must not find a new #5.
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=64)
    text: str = Field(sa_column=Column(Text, nullable=False))
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    post_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("posts.id", ondelete="SET NULL"), nullable=True),
    )
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)


CALENDAR_DATE_KINDS = ("own", "hidden")
CALENDAR_NAME_MAX_LENGTH = 100


class CalendarDate(SQLModel, table=True):
    """What a team changed in the marketing calendar (营销日历): a date of its own
    (`own`, on `day`), or a built-in date it hid (`hidden`, by name, no day: every year).
    The built-in dates are data (bot/vocab/marketing_dates.py), not rows."""

    __tablename__ = "calendar_dates"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'own' AND day IS NOT NULL) OR (kind = 'hidden' AND day IS NULL)",
            name="ck_calendar_dates_kind",
        ),
        Index("ix_calendar_dates_team_kind", "team_id", "kind", "day"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=64)
    kind: str = Field(max_length=8)
    day: date | None = None
    name: str = Field(max_length=CALENDAR_NAME_MAX_LENGTH)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)


class CalendarFeed(SQLModel, table=True):
    """The secret token of a team's iCalendar feed (`/calendar/<team>.ics?token=…`),
    random and stored: the config has no server secret to derive one from."""

    __tablename__ = "calendar_feeds"

    team_id: str = Field(primary_key=True, max_length=64)
    token: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)


class Target(SQLModel, table=True):
    """A monthly target for one platform and metric (`month` is `YYYY-MM`)."""

    __tablename__ = "targets"
    __table_args__ = (
        UniqueConstraint("team_id", "platform", "month", "metric", name="uq_targets"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=64)
    platform: str = Field(max_length=32)
    month: str = Field(max_length=7)
    metric: str = Field(max_length=32)
    value: float
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Series(SQLModel, table=True):
    """A recurring column (栏目: every Wednesday's 读书会), kept planned ahead as posts.

    The rule as typed is kept in `rule`; what it means is in `kind` (`weekly` or
    `monthly`), `weekday` (0 Monday … 6 Sunday) or `month_day` (1–28), and `at` (`20:00`,
    the team's wall clock). `keep` occurrences ahead are planned as ordinary posts.
    """

    __tablename__ = "series"
    __table_args__ = (
        CheckConstraint(_one_of("kind", SERIES_KINDS), name="ck_series_kind"),
        Index("ix_series_team", "team_id", "active"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=64)
    title: str = Field(max_length=TITLE_MAX_LENGTH)
    platform: str = Field(max_length=32)
    rule: str = Field(max_length=100)
    kind: str = Field(max_length=8)
    weekday: int | None = None
    month_day: int | None = None
    at: str = Field(max_length=5)
    keep: int = 4
    owner: str = Field(max_length=64)
    reviewer: str | None = Field(default=None, max_length=64)
    active: bool = True
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)


class SeriesOccurrence(SQLModel, table=True):
    """One day of a series that has been planned: its primary key is what makes each
    occurrence planned once, whoever gets there first. The row stays when its post is
    skipped (cancelled) or moved, so the occurrence is never planned again."""

    __tablename__ = "series_occurrences"

    series_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("series.id", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )
    day: date = Field(primary_key=True)
    post_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("posts.id", ondelete="SET NULL"), nullable=True),
    )
    created_at: datetime = Field(sa_type=UTCDateTime)


class Campaign(SQLModel, table=True):
    """A campaign (专题/活动) from one day to another, perhaps with a goal
    (`new_followers` 2000), and its review (活动复盘) once it is over.

    `review_state`: `pending` (not over, or over and not yet asked), `asked` (its owner
    was sent the request), `answered` (the review is recorded, to be posted to the
    channel), `posted`.
    """

    __tablename__ = "campaigns"
    __table_args__ = (
        UniqueConstraint("team_id", "name", name="uq_campaigns_team_name"),
        CheckConstraint(_one_of("review_state", CAMPAIGN_REVIEW_STATES),
                        name="ck_campaigns_review_state"),
        CheckConstraint("starts_on <= ends_on", name="ck_campaigns_days"),
        Index("ix_campaigns_review", "review_state", "ends_on"),
    )  # fmt: skip

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=64)
    name: str = Field(max_length=CAMPAIGN_NAME_MAX_LENGTH)
    starts_on: date
    ends_on: date
    goal_metric: str | None = Field(default=None, max_length=32)
    goal_value: float | None = None
    owner: str = Field(max_length=64)
    review_state: str = Field(default="pending", max_length=16)
    worked: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    didnt: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    reviewed_by: str | None = Field(default=None, max_length=64)
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)


class CampaignLink(SQLModel, table=True):
    """A topic, post or task tagged to a campaign (`+双十一`, `/campaign link`)."""

    __tablename__ = "campaign_links"
    __table_args__ = (
        UniqueConstraint("campaign_id", "kind", "ref_id", name="uq_campaign_links"),
        CheckConstraint(_one_of("kind", CAMPAIGN_LINK_KINDS), name="ck_campaign_links_kind"),
        Index("ix_campaign_links_ref", "kind", "ref_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(
        sa_column=Column(Integer, ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False)
    )
    kind: str = Field(max_length=8)
    ref_id: int
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)


class JobRun(SQLModel, table=True):
    """The ledger of scheduled jobs: one row per team, job and period, ever.

    The unique key is what makes a scheduled post go out exactly once, whichever of
    several processes (or restarts) gets there first. `status` is `done`, or `skipped`
    for a run missed beyond the grace period.
    """

    __tablename__ = "job_runs"
    __table_args__ = (
        UniqueConstraint("team_id", "job", "period", name="uq_job_runs"),
        # A tick reads the runs of a few periods for every team at once.
        Index("ix_job_runs_job_period", "job", "period"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=64)
    job: str = Field(max_length=64)
    period: str = Field(max_length=128)
    status: str = Field(default="done", max_length=16)
    ran_at: datetime = Field(sa_type=UTCDateTime)


class TeamStart(SQLModel, table=True):
    """When a team's scheduled jobs began, worked out once (from its first member or
    ledger row) so that a tick reads it with every other team's in one query."""

    __tablename__ = "team_starts"

    team_id: str = Field(primary_key=True, max_length=64)
    started_at: datetime = Field(sa_type=UTCDateTime)


class TickRound(SQLModel, table=True):
    """Ticks started together share one round: each takes the next batch of the teams
    (`next_batch`) until all `batches` are taken, so every team is walked once a round;
    the round is over when every batch is done (`done_batches`).

    `teams_hash` names the list of teams the batches cut up: ticks with another config
    start a round of their own. `instant` is the clock's time of the round's last batch
    taken or done. The ledger, not the round, keeps a run from posting twice.
    """

    __tablename__ = "tick_rounds"

    id: int | None = Field(default=None, primary_key=True)
    teams_hash: str = Field(max_length=64)
    instant: datetime = Field(sa_type=UTCDateTime)
    batches: int
    next_batch: int = 0
    done_batches: int = 0


class OutboxItem(SQLModel, table=True):
    """A message the bot sends on its own, kept until the chat platform has taken it.

    Written in the same transaction as the job run that produced it; the deliverer sends
    it with retries and backoff. `target` is `team` (the team's channel) or
    `member:<id>` (a direct message); `payload` is the neutral Reply as JSON, rendered
    for the platform at delivery time.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(_one_of("status", OUTBOX_STATUSES), name="ck_outbox_status"),
        Index("ix_outbox_status_next", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=64)
    idempotency_key: str = Field(max_length=255, unique=True)
    platform: str = Field(max_length=16)
    target: str = Field(max_length=128)
    kind: str = Field(max_length=32)
    payload: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # type: ignore[type-arg]
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    # A message split into parts (Slack's block limit, WeCom's byte limit): how many of
    # them the platform has taken, so that a retry goes on from there.
    parts_sent: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class InboundEvent(SQLModel, table=True):
    """Platform deliveries already handled, so a retried delivery is processed once.

    Kept in the database (not in memory) so a retry that reaches another process, or
    the same process after a restart, is still recognised.
    """

    __tablename__ = "inbound_events"
    __table_args__ = (UniqueConstraint("platform", "event_id", name="uq_inbound_events"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    event_id: str = Field(max_length=255)
    received_at: datetime = Field(sa_type=UTCDateTime)
