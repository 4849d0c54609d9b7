"""`/topic` (`/选题`): the topic backlog — capture, rank, vote, rescore, edit, drop."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any, Protocol

from sqlmodel import Session

from bot.core.commands import CommandFamily, Context
from bot.core.config import ScoringWeights, TeamSettings
from bot.core.errors import CommandError
from bot.core.jobs import TEAM, EventJob, Occurrence, Outgoing
from bot.core.messages import Audience, Button, Reply, Section, Tone
from bot.core.render.text import shorten
from bot.vocab.arguments import TopicOptions, parse_platform, parse_topic_options, split_option
from handlers.campaign_tags import link_to_campaign, take_campaign_tag
from handlers.publish import plan_post, planned_reply, read_post_options
from handlers.records import load_record
from storage import posts as post_store
from storage import topics as topic_store
from storage.models import TITLE_MAX_LENGTH, Topic, TopicFields
from storage.topics import BacklogFilter, HotIdea

family = CommandFamily("topic", aliases=("选题",))

DEFAULT_RATING = 3
HOT_TIMELINESS = 5
HIGH_PRIORITY_FROM = Fraction(4)
MID_PRIORITY_FROM = Fraction(5, 2)
PRIORITY_ORDER = {"high": 0, "mid": 1, "low": 2}
LIST_LIMIT = 30
HOT_ALERT_LEAD = timedelta(hours=1)
OPEN_STATUSES = ("idea",)
CLOSED_STATUSES = ("published", "dropped")


@dataclass(frozen=True)
class TopicScore:
    score: float
    priority: str


def score_topic(
    *, timeliness: int, value: int, conversion: int, weights: ScoringWeights
) -> TopicScore:
    """The weighted mean of the three ratings and its priority band (SPEC §3).

    Computed with exact fractions so that a mean of exactly 4.0 is `high`, never a
    3.9999… that floating point would put in `mid`.
    """
    parts = (
        (Fraction(str(weights.timeliness)), timeliness),
        (Fraction(str(weights.value)), value),
        (Fraction(str(weights.conversion)), conversion),
    )
    mean = sum(weight * rating for weight, rating in parts) / sum(weight for weight, _ in parts)
    if mean >= HIGH_PRIORITY_FROM:
        priority = "high"
    elif mean >= MID_PRIORITY_FROM:
        priority = "mid"
    else:
        priority = "low"
    return TopicScore(round(float(mean), 2), priority)


def backlog_order(topic: Topic, votes: int) -> tuple[int, float, int, datetime, int]:
    """Priority, then score, then votes, then age (oldest first)."""
    return (PRIORITY_ORDER[topic.priority], -topic.score, -votes, topic.created_at, topic.id or 0)


def _title_from(ctx: Context, options: TopicOptions) -> str:
    title = options.title
    if not title:
        raise CommandError("topic.error.missing_title")
    if len(title) > TITLE_MAX_LENGTH:
        raise CommandError("errors.title_too_long", max=TITLE_MAX_LENGTH, length=len(title))
    return title


def _rescore(ctx: Context, topic: Topic) -> None:
    scored = score_topic(
        timeliness=topic.timeliness,
        value=topic.value,
        conversion=topic.conversion,
        weights=ctx.settings.scoring,
    )
    topic.score, topic.priority = scored.score, scored.priority


def _load(ctx: Context, word: str | None) -> Topic:
    return load_record(ctx, Topic, word, not_found="topic.error.not_found")


def _require_open(ctx: Context, topic: Topic) -> None:
    """Published and dropped topics are history: no more votes or changes."""
    if topic.status in CLOSED_STATUSES:
        raise CommandError(
            "topic.error.closed",
            id=topic.id,
            status=ctx.t(f"status.{topic.status}"),
            show_usage=False,
        )


def _require_editable(ctx: Context, topic: Topic) -> None:
    """Authors may change their own topics; editors and admins may change any."""
    if topic.created_by != ctx.member.id and ctx.member.role not in ("editor", "admin"):
        raise CommandError("topic.error.not_yours", id=topic.id, show_usage=False)
    _require_open(ctx, topic)


def _priority(ctx: Context, topic: TopicLine) -> str:
    return ctx.t(f"priority.{topic.priority}")


def _create(ctx: Context, words: list[str], *, hot: bool) -> TopicFields:
    options = parse_topic_options(words, ctx.content_platforms)
    title = _title_from(ctx, options)
    now = ctx.now()
    ratings: dict[str, Any] = {
        "timeliness": DEFAULT_RATING,
        "value": DEFAULT_RATING,
        "conversion": DEFAULT_RATING,
    }
    ratings.update(options.ratings)
    deadline = None
    if hot:
        ratings["timeliness"] = HOT_TIMELINESS
        deadline = now + timedelta(hours=ctx.team.schedule.hot_topic_hours)
    scored = score_topic(weights=ctx.settings.scoring, **ratings)
    return topic_store.add_topic(
        ctx.session,
        TopicFields(
            team_id=ctx.team.id,
            title=title,
            tags=options.tags,
            platform=options.platform,
            score=scored.score,
            priority=scored.priority,
            hot=hot,
            deadline=deadline,
            created_by=ctx.member.id,
            created_at=now,
            updated_at=now,
            **ratings,
        ),
    )


def _details(ctx: Context, topic: TopicFields) -> str:
    """The platform and tags as stored, echoed so that a misread option shows at once."""
    parts = []
    if topic.platform:
        parts.append(ctx.content_platforms.name(topic.platform, ctx.locale))
    parts.extend(f"#{tag}" for tag in topic.tags)
    return "".join(f" · {part}" for part in parts)


def _vote_button(ctx: Context, topic: TopicFields) -> Button:
    return Button(ctx.t("button.vote"), f"/topic vote {topic.id}")


@family.subcommand("add", "新增")
def add_topic(ctx: Context, args: list[str]) -> Reply:
    args, campaign = take_campaign_tag(ctx, args)  # `+双十一` last
    topic = _create(ctx, args, hot=False)
    return Reply(
        ctx.t(
            "topic.saved",
            id=topic.id,
            title=topic.title,
            score=f"{topic.score:.2f}",
            priority=_priority(ctx, topic),
            details=_details(ctx, topic),
        )
        + link_to_campaign(ctx, campaign, "topic", topic.id),
        tone=Tone.SUCCESS,
        buttons=[_vote_button(ctx, topic)],
    )


@family.subcommand("hot", "热点")
def add_hot_topic(ctx: Context, args: list[str]) -> Reply:
    topic = _create(ctx, args, hot=True)
    assert topic.deadline is not None
    return Reply(
        ctx.t(
            "topic.hot_saved",
            id=topic.id,
            title=topic.title,
            score=f"{topic.score:.2f}",
            priority=_priority(ctx, topic),
            deadline=ctx.local(topic.deadline).strftime("%m-%d %H:%M"),
            hours=f"{ctx.team.schedule.hot_topic_hours:g}",
        ),
        tone=Tone.SUCCESS,
        buttons=[_vote_button(ctx, topic)],
        audience=Audience.CHANNEL,
    )


@dataclass
class ListFilter:
    mine: bool = False
    everything: bool = False
    tags: tuple[str, ...] = ()
    platform: str | None = None
    priorities: tuple[str, ...] = ()


_FILTER_WORDS = {
    "mine": "mine", "我的": "mine",
    "all": "all", "全部": "all",
    "high": "high", "高": "high",
    "mid": "mid", "medium": "mid", "中": "mid",
    "low": "low", "低": "low",
}  # fmt: skip


def _parse_list_filter(ctx: Context, words: list[str]) -> ListFilter:
    chosen = ListFilter()
    options = parse_topic_options(words, ctx.content_platforms)
    if options.ratings:
        raise CommandError("topic.error.bad_filter", value=" ".join(words)[:40])
    for word in options.words:
        meaning = _FILTER_WORDS.get(word.casefold())
        if meaning is None:
            raise CommandError("topic.error.bad_filter", value=word[:40])
        if meaning == "mine":
            chosen.mine = True
        elif meaning == "all":
            chosen.everything = True
        else:
            chosen.priorities += (meaning,)
    chosen.tags = tuple(options.tags)
    chosen.platform = options.platform
    return chosen


class TopicLine(Protocol):
    """What a backlog line shows: a `Topic`, or a row of `topic_store.backlog_page`."""

    id: int | None
    title: str
    tags: list[str]
    platform: str | None
    score: float
    priority: str
    status: str
    hot: bool
    deadline: datetime | None


def topic_row(
    ctx: Context, topic: TopicLine, votes: int, *, with_status: bool = False
) -> tuple[str, ...]:
    """One backlog line: id, priority and score, title, tags, platform, votes, hot deadline."""
    notes = []
    if votes:
        notes.append(f"👍{votes}")
    if topic.hot and topic.deadline is not None:
        notes.append(
            ctx.t("topic.hot_until", deadline=ctx.local(topic.deadline).strftime("%m-%d %H:%M"))
        )
    if with_status and topic.status != "idea":
        notes.append(ctx.t(f"status.{topic.status}"))
    return (
        f"#{topic.id}",
        f"{_priority(ctx, topic)} {topic.score:.2f}",
        shorten(topic.title),
        " ".join(f"#{tag}" for tag in topic.tags),
        ctx.content_platforms.name(topic.platform, ctx.locale),
        " ".join(notes),
    )


@family.subcommand("list", "列表", "ls", reads_only=True)
def list_topics(ctx: Context, args: list[str]) -> Reply:
    wanted = _parse_list_filter(ctx, args)
    backlog = BacklogFilter(
        statuses=None if wanted.everything else OPEN_STATUSES,
        created_by=ctx.member.id if wanted.mine else None,
        platform=wanted.platform,
        priorities=wanted.priorities,
        tags=wanted.tags,
    )
    rows, total = topic_store.backlog_page(
        ctx.session, team_id=ctx.team.id, wanted=backlog, limit=LIST_LIMIT
    )
    if not rows:
        return Reply(ctx.t("topic.list_empty"))
    section = Section(
        rows=[topic_row(ctx, row, row.votes, with_status=wanted.everything) for row in rows]
    )
    if total > LIST_LIMIT:
        section.lines.append(ctx.t("list.more", count=total - LIST_LIMIT))
    return Reply(ctx.t("topic.list_title", count=total), sections=[section])


@family.subcommand("vote", "投票", "+1")
def vote_topic(ctx: Context, args: list[str]) -> Reply:
    topic = _load(ctx, args[0] if args else None)
    if len(args) > 1:
        raise CommandError("errors.extra_words", words=" ".join(args[1:])[:40])
    _require_open(ctx, topic)
    assert topic.id is not None
    counted = topic_store.add_vote(
        ctx.session, topic_id=topic.id, member_id=ctx.member.id, now=ctx.now()
    )
    total = topic_store.vote_count(ctx.session, topic_id=topic.id)
    if not counted:
        return Reply(
            ctx.t(
                "topic.already_voted",
                id=topic.id,
                title=topic.title,
                votes=ctx.t.count("votes", total),
            )
        )
    return Reply(
        ctx.t("topic.voted", id=topic.id, title=topic.title, votes=ctx.t.count("votes", total)),
        tone=Tone.SUCCESS,
    )


@family.subcommand("unvote", "取消投票", "-1")
def unvote_topic(ctx: Context, args: list[str]) -> Reply:
    topic = _load(ctx, args[0] if args else None)
    if len(args) > 1:
        raise CommandError("errors.extra_words", words=" ".join(args[1:])[:40])
    _require_open(ctx, topic)
    assert topic.id is not None
    removed = topic_store.remove_vote(ctx.session, topic_id=topic.id, member_id=ctx.member.id)
    total = topic_store.vote_count(ctx.session, topic_id=topic.id)
    if not removed:
        return Reply(
            ctx.t(
                "topic.not_voted", id=topic.id, title=topic.title, votes=ctx.t.count("votes", total)
            )
        )
    return Reply(
        ctx.t("topic.unvoted", id=topic.id, title=topic.title, votes=ctx.t.count("votes", total)),
        tone=Tone.SUCCESS,
    )


@family.subcommand("score", "评分")
def rescore_topic(ctx: Context, args: list[str]) -> Reply:
    topic = _load(ctx, args[0] if args else None)
    options = parse_topic_options(args[1:], ctx.content_platforms)
    if options.words or options.tags or options.platform:
        raise CommandError("errors.extra_words", words=" ".join(args[1:])[:40])
    if not options.ratings:
        raise CommandError("topic.error.no_ratings")
    _require_editable(ctx, topic)
    before = topic.score
    for field_name, rating in options.ratings.items():
        setattr(topic, field_name, rating)
    _rescore(ctx, topic)
    topic.updated_at = ctx.now()
    return Reply(
        ctx.t(
            "topic.rescored",
            id=topic.id,
            before=f"{before:.2f}",
            score=f"{topic.score:.2f}",
            priority=_priority(ctx, topic),
        ),
        tone=Tone.SUCCESS,
    )


@family.subcommand("edit", "修改")
def edit_topic(ctx: Context, args: list[str]) -> Reply:
    topic = _load(ctx, args[0] if args else None)
    options = parse_topic_options(args[1:], ctx.content_platforms)
    if not (options.words or options.tags or options.platform or options.ratings):
        raise CommandError("topic.error.nothing_to_change")
    _require_editable(ctx, topic)
    if options.words:
        topic.title = _title_from(ctx, options)
    if options.tags:
        topic.tags = options.tags
    if options.platform:
        topic.platform = options.platform
    if options.ratings:
        for field_name, rating in options.ratings.items():
            setattr(topic, field_name, rating)
        _rescore(ctx, topic)
    topic.updated_at = ctx.now()
    return Reply(
        ctx.t("topic.edited", id=topic.id, title=topic.title),
        tone=Tone.SUCCESS,
        sections=[Section(rows=[topic_row(ctx, topic, 0)])],
    )


@family.subcommand("drop", "放弃")
def drop_topic(ctx: Context, args: list[str]) -> Reply:
    topic = _load(ctx, args[0] if args else None)
    _require_editable(ctx, topic)
    reason = " ".join(args[1:])
    if len(reason) > TITLE_MAX_LENGTH:
        raise CommandError("errors.reason_too_long", max=TITLE_MAX_LENGTH)
    topic.status = "dropped"
    topic.drop_reason = reason or None
    topic.updated_at = ctx.now()
    key = "topic.dropped_with_reason" if reason else "topic.dropped"
    return Reply(ctx.t(key, id=topic.id, title=topic.title, reason=reason), tone=Tone.SUCCESS)


@family.subcommand("schedule", "排期")
def schedule_topic(ctx: Context, args: list[str]) -> Reply:
    """Turn a topic into a post in the calendar (`/topic schedule 3 wechat 明天 20:00 @carol`)."""
    topic = _load(ctx, args[0] if args else None)
    if len(args) < 2:
        raise CommandError("publish.error.missing_platform")
    platform_word = args[1]
    option = split_option(platform_word)
    platform = parse_platform(option[1] if option else platform_word, ctx.content_platforms)
    found = read_post_options(ctx, args[2:], platform_needed=False)
    if found.title:
        raise CommandError("errors.extra_words", words=found.title[:40])
    if found.platform is not None and found.platform != platform:
        raise CommandError("errors.option_twice", first=platform_word[:30], second=found.platform)
    _require_open(ctx, topic)
    assert topic.id is not None and found.planned_at is not None
    # The same topic on another platform is a post of its own; on the same one, a twin.
    planned = [
        post
        for post in post_store.active_posts_of_topic(ctx.session, topic_id=topic.id)
        if post.platform == platform
    ]
    if planned:
        raise CommandError(
            "topic.error.already_scheduled", id=topic.id, post=planned[0].id,
            when=ctx.instant_text(planned[0].planned_at), show_usage=False,
        )  # fmt: skip
    post = plan_post(
        ctx, title=topic.title, platform=platform, planned_at=found.planned_at,
        reviewer=found.reviewer, topic=topic,
    )  # fmt: skip
    return planned_reply(ctx, post)


def _hot_topics_due(ctx: Context) -> list[Occurrence]:
    """Hot topics whose deadline is within the hour and that are still not scheduled."""
    now = ctx.now()
    topics = topic_store.hot_ideas(
        ctx.session, team_id=ctx.team.id, after=now, until=now + HOT_ALERT_LEAD
    )

    def occurrence(topic: HotIdea) -> Occurrence:
        def build(ctx: Context) -> list[Outgoing]:
            assert topic.deadline is not None
            text = ctx.t(
                "scheduler.hot_alert", id=topic.id, title=topic.title,
                deadline=ctx.local(topic.deadline).strftime("%H:%M"),
            )  # fmt: skip
            return [Outgoing(TEAM, Reply(text))]

        return Occurrence(f"topic-{topic.id}", build)

    return [occurrence(topic) for topic in topics]


class _HotTopicsDue:
    """The hot-topic alerts due in a team (`due`), and which of many teams may have one
    (`teams_due`: one read a tick, instead of one per team)."""

    def __call__(self, ctx: Context) -> list[Occurrence]:
        return _hot_topics_due(ctx)

    def teams_due(self, session: Session, teams: Sequence[TeamSettings], now: datetime) -> set[str]:
        return topic_store.teams_with_hot_ideas(
            session, team_ids=[team.id for team in teams], after=now, until=now + HOT_ALERT_LEAD
        )


HOT_TOPIC_ALERT = EventJob("hot_topic_alert", due=_HotTopicsDue())
