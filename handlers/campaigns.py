"""`/campaign` (`/专题`): campaigns (专题/活动) — their topics, posts and tasks, progress,
the digest's warnings, a line in the weekly summary, and the review (活动复盘).

A campaign runs from one day to another and may have a goal (`goal:new_followers=2000`).
Topics and posts are tagged to it on creation with `+<name>` (`handlers/campaign_tags.py`)
or later with `/campaign link`; a post scheduled from a tagged topic counts too.

When a campaign is over (the day after its last), the `CAMPAIGN_REVIEW` job asks its
owner by direct message for the review, once (the ledger's period is the campaign): the
figures filled in from `kpi_daily` over its days for the goal's metric and from its
posts' `post_metrics`. `/campaign review <name> worked: … | didnt: …` records the answer,
puts each part into the playbook tagged with the campaign's name, and the same job posts
the review to the team's channel through the outbox, once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session

from bot.core.commands import CommandFamily, Context
from bot.core.config import TeamSettings
from bot.core.errors import CommandError
from bot.core.i18n import Translator
from bot.core.jobs import TEAM, EventJob, Occurrence, Outgoing, member_target
from bot.core.messages import Audience, Button, Reply, Section, Tone
from bot.vocab.arguments import parse_id, parse_mention
from bot.vocab.metrics import METRICS, is_cumulative, metric_name, parse_value, resolve_metric
from bot.vocab.numbers import format_number, format_percent, ratio
from bot.vocab.when import parse_date
from handlers.publish import member_names, post_row, quoted_title
from handlers.records import load_record
from handlers.team import resolve_member
from storage import campaigns as campaign_store
from storage import kpis as kpi_store
from storage import members as member_store
from storage import playbook as playbook_store
from storage.models import (
    CAMPAIGN_NAME_MAX_LENGTH,
    REASON_MAX_LENGTH,
    Campaign,
    CampaignLink,
    Lesson,
    Post,
    Task,
    Topic,
)

family = CommandFamily("campaign", aliases=("专题", "活动"))

LINK_KINDS = {
    "topic": "topic", "选题": "topic", "post": "post", "发布": "post", "文章": "post",
    "task": "task", "任务": "task",
}  # fmt: skip
NOT_FOUND: dict[str, tuple[type[Topic] | type[Post] | type[Task], str]] = {
    "topic": (Topic, "topic.error.not_found"),
    "post": (Post, "publish.error.not_found"),
    "task": (Task, "task.error.not_found"),
}
GOAL_KEYS = ("goal", "目标")
REVIEW_LABELS = {
    "worked": "worked", "good": "worked", "做得好": "worked", "亮点": "worked", "好": "worked",
    "didnt": "didnt", "didn't": "didnt", "bad": "didnt", "不足": "didnt", "没做好": "didnt",
    "问题": "didnt",
}  # fmt: skip
REVIEW_SPLIT = re.compile(r"[|｜\n]")
EDIT_ROLES = ("admin", "editor")
SLIPPING = ("planned", "author_confirmed", "confirmed", "changes_requested")


# -- progress, shared by show, the digest and the summary ------------------------------


@dataclass
class Progress:
    posts: list[Post]
    tasks: list[Task]
    topics: int

    def count(self, *statuses: str) -> int:
        return sum(1 for post in self.posts if post.status in statuses)

    @property
    def planned(self) -> int:
        return sum(1 for post in self.posts if post.status != "cancelled")


def progress_of(session: Session, campaign: Campaign) -> Progress:
    assert campaign.id is not None
    return Progress(
        posts=campaign_store.campaign_posts(
            session, team_id=campaign.team_id, campaign_id=campaign.id
        ),
        tasks=campaign_store.campaign_tasks(
            session, team_id=campaign.team_id, campaign_id=campaign.id
        ),
        topics=len(campaign_store.linked_ids(session, campaign_id=campaign.id)["topic"]),
    )


def _days(campaign: Campaign) -> str:
    return f"{campaign.starts_on.strftime('%m-%d')} – {campaign.ends_on.strftime('%m-%d')}"


def _when_text(t: Translator, campaign: Campaign, today: date) -> str:
    if today < campaign.starts_on:
        return t("campaign.starts_in", days=(campaign.starts_on - today).days)
    if today <= campaign.ends_on:
        return t("campaign.days_left", days=(campaign.ends_on - today).days + 1)
    return t("campaign.over")


def _goal_text(t: Translator, campaign: Campaign) -> str:
    if campaign.goal_metric is None or campaign.goal_value is None:
        return t("campaign.no_goal")
    return t("campaign.goal", metric=metric_name(campaign.goal_metric, t.locale),
             value=format_number(campaign.goal_value))  # fmt: skip


def post_figures(session: Session, posts: Sequence[Post]) -> dict[str, float]:
    """Each metric summed over the campaign's published posts."""
    figures = kpi_store.post_metrics(
        session, post_ids=[p.id for p in posts if p.status == "published" and p.id is not None]
    )
    totals: dict[str, float] = {}
    for values in figures.values():
        for metric, value in values.items():
            totals[metric] = totals.get(metric, 0.0) + value
    return totals


def _figures_text(t: Translator, totals: dict[str, float]) -> str:
    shown = [
        f"{metric.name(t.locale)} {format_number(totals[metric.key])}"
        for metric in METRICS
        if metric.key in totals
    ]
    return " · ".join(shown)


def goal_result(session: Session, campaign: Campaign) -> float | None:
    """The goal's metric over the campaign's days, every platform: a daily flow summed,
    a level (followers) as its change from the day before the first."""
    metric = campaign.goal_metric
    if metric is None:
        return None
    rows = [
        row
        for row in kpi_store.daily_values(
            session, team_id=campaign.team_id, start=campaign.starts_on, end=campaign.ends_on
        )
        if row.metric == metric
    ]
    if not rows:
        return None
    if not is_cumulative(metric):
        return sum(row.value for row in rows)
    total = 0.0
    for platform in sorted({row.platform for row in rows}):
        values = [row for row in rows if row.platform == platform]
        before = kpi_store.latest_before(
            session, team_id=campaign.team_id, platform=platform, metric=metric,
            before=campaign.starts_on,
        )  # fmt: skip
        total += values[-1].value - (before.value if before else values[0].value)
    return total


def result_lines(t: Translator, session: Session, campaign: Campaign) -> list[str]:
    """The review's figures: the goal against its result, and the posts'."""
    progress = progress_of(session, campaign)
    lines = []
    if campaign.goal_metric is not None and campaign.goal_value is not None:
        result = goal_result(session, campaign)
        name = metric_name(campaign.goal_metric, t.locale)
        if result is None:
            lines.append(t("campaign.result.no_figures", metric=name,
                           goal=format_number(campaign.goal_value)))  # fmt: skip
        else:
            share = ratio(result, campaign.goal_value)
            lines.append(t(
                "campaign.result.goal", metric=name, value=format_number(result),
                goal=format_number(campaign.goal_value), percent=format_percent(share, digits=0),
                mark="✅" if share is not None and share >= 1 else "❌",
            ))  # fmt: skip
    line = t("campaign.result.posts", published=progress.count("published"),
             planned=progress.planned)  # fmt: skip
    figures = _figures_text(t, post_figures(session, progress.posts))
    lines.append(f"{line} · {figures}" if figures else line)
    return lines


# -- the sub-commands -----------------------------------------------------------------


def _campaign(ctx: Context, name: str | None) -> Campaign:
    if not name:
        raise CommandError("campaign.error.missing_name")
    found = campaign_store.campaign_named(ctx.session, team_id=ctx.team.id, name=name)
    if found is None:
        raise CommandError("campaign.error.not_found", name=name[:30], show_usage=False)
    return found


def _goal(word: str) -> tuple[str, float] | None:
    key, colon, rest = word.replace("：", ":").partition(":")
    if not colon or key.casefold() not in GOAL_KEYS:
        return None
    metric_word, equals, value_word = rest.partition("=")
    metric = resolve_metric(metric_word) if metric_word else None
    if metric is None:
        raise CommandError("campaign.error.bad_goal", value=word[:40])
    value = parse_value(value_word) if equals else None
    if value is None or value <= 0:
        raise CommandError("campaign.error.bad_goal", value=word[:40])
    return metric, value


@family.subcommand("add", "新增")
def add_campaign(ctx: Context, args: list[str]) -> Reply:
    """`<name> <from> <to> [goal:<metric>=<n>] [@owner]`: the options from the end."""
    words = list(args)
    goal = owner = None
    while words:
        mention = parse_mention(words[-1])
        found_goal = _goal(words[-1])
        if mention is not None and owner is None:
            owner = resolve_member(ctx, mention)
        elif found_goal is not None and goal is None:
            goal = found_goal
        else:
            break
        words.pop()
    if len(words) < 3:
        raise CommandError(
            "campaign.error.missing_days" if words else "campaign.error.missing_name"
        )
    if len(words) > 3:
        raise CommandError("campaign.error.one_word_name", name=" ".join(words[:-2])[:40])
    name, from_word, to_word = words
    today = ctx.today()
    first = parse_date([from_word], today=today)
    last = parse_date([to_word], today=today)
    if name.startswith(("+", "＋", "#")) or len(name) > CAMPAIGN_NAME_MAX_LENGTH:
        raise CommandError("campaign.error.bad_name", name=name[:40], max=CAMPAIGN_NAME_MAX_LENGTH)
    if last < first:
        raise CommandError("campaign.error.backwards", first=first.isoformat(),
                           last=last.isoformat())  # fmt: skip
    if last < today:
        raise CommandError("campaign.error.over", last=last.isoformat())
    if campaign_store.campaign_named(ctx.session, team_id=ctx.team.id, name=name):
        raise CommandError("campaign.error.exists", name=name, show_usage=False)
    campaign = campaign_store.add_campaign(
        ctx.session,
        Campaign(
            team_id=ctx.team.id, name=name, starts_on=first, ends_on=last,
            goal_metric=goal[0] if goal else None, goal_value=goal[1] if goal else None,
            owner=owner.id if owner else ctx.member.id, created_by=ctx.member.id,
            created_at=ctx.now(),
        ),
    )  # fmt: skip
    names = member_names(ctx)
    return Reply(
        ctx.t("campaign.added", name=name, first=ctx.day_text(first), last=ctx.day_text(last),
              days=(last - first).days + 1, goal=_goal_text(ctx.t, campaign),
              owner=names.get(campaign.owner, campaign.owner)),
        tone=Tone.SUCCESS,
        sections=[Section(lines=[ctx.t("campaign.added_hint", name=name)])],
    )  # fmt: skip


@family.subcommand("link", "关联")
def link_record(ctx: Context, args: list[str]) -> Reply:
    """`<campaign> topic|post|task <id>`."""
    if len(args) > 3:
        raise CommandError("errors.extra_words", words=" ".join(args[3:])[:40])
    campaign = _campaign(ctx, args[0] if args else None)
    kind = LINK_KINDS.get(args[1].casefold()) if len(args) > 1 else None
    if kind is None:
        raise CommandError("campaign.error.bad_kind", word=(args[1] if len(args) > 1 else "–")[:30])
    model, not_found = NOT_FOUND[kind]
    record_id = parse_id(args[2] if len(args) > 2 else None)
    load_record(ctx, model, args[2], not_found=not_found)  # the team's, or refused
    assert campaign.id is not None
    params = {"name": campaign.name, "kind": ctx.t(f"campaign.kind.{kind}"), "id": record_id}
    link = CampaignLink(
        campaign_id=campaign.id, kind=kind, ref_id=record_id, created_by=ctx.member.id,
        created_at=ctx.now(),
    )  # fmt: skip
    if not campaign_store.add_link(ctx.session, link):
        raise CommandError("campaign.error.linked_already", show_usage=False, **params)
    return Reply(ctx.t("campaign.linked", **params), tone=Tone.SUCCESS)


def _current(ctx: Context) -> Campaign | None:
    """The campaign running today (the one that ends first), else the newest."""
    today = ctx.today()
    running = campaign_store.campaigns_between(
        ctx.session, team_id=ctx.team.id, first=today, last=today
    )
    if running:
        return min(running, key=lambda c: (c.ends_on, c.id or 0))
    every = campaign_store.campaigns_of_team(ctx.session, team_id=ctx.team.id)
    return every[0] if every else None


@family.subcommand("show", "查看", reads_only=True)
def show_campaign(ctx: Context, args: list[str]) -> Reply:
    if len(args) > 1:
        raise CommandError("errors.extra_words", words=" ".join(args[1:])[:40])
    campaign = _campaign(ctx, args[0]) if args else _current(ctx)
    if campaign is None:
        return Reply(ctx.t("campaign.none"))
    progress = progress_of(ctx.session, campaign)
    names = member_names(ctx)
    title = ctx.t(
        "campaign.show_title", name=campaign.name, days=_days(campaign),
        when=_when_text(ctx.t, campaign, ctx.today()),
        owner=names.get(campaign.owner, campaign.owner), goal=_goal_text(ctx.t, campaign),
    )  # fmt: skip
    open_tasks = sum(1 for task in progress.tasks if task.status == "open")
    done_tasks = sum(1 for task in progress.tasks if task.status == "done")
    summary = ctx.t(
        "campaign.progress", planned=progress.planned,
        confirmed=progress.count("confirmed"), published=progress.count("published"),
        open=open_tasks, done=done_tasks, topics=progress.topics,
    )  # fmt: skip
    sections = [Section(lines=[summary])]
    shown = [post for post in progress.posts if post.status != "cancelled"]
    if shown:
        sections.append(
            Section(
                rows=[
                    (
                        ctx.local(post.planned_at).strftime("%m-%d"),
                        *post_row(ctx, post, names),
                    )
                    for post in shown
                ]
            )
        )
    figures = _figures_text(ctx.t, post_figures(ctx.session, progress.posts))
    if figures:
        sections.append(Section(lines=[ctx.t("campaign.figures", figures=figures)]))
    if campaign.review_state in ("answered", "posted"):
        sections.append(Section(lines=[ctx.t("campaign.reviewed")]))
    return Reply(title, sections=sections)


@family.subcommand("list", "列表", "ls", reads_only=True)
def list_campaigns(ctx: Context, args: list[str]) -> Reply:
    if args:
        raise CommandError("errors.extra_words", words=" ".join(args)[:40])
    campaigns = campaign_store.campaigns_of_team(ctx.session, team_id=ctx.team.id)
    title = ctx.t("campaign.list_title", count=len(campaigns))
    if not campaigns:
        return Reply(title, sections=[Section(lines=[ctx.t("campaign.none")])])
    today = ctx.today()
    rows: list[tuple[str, ...]] = []
    for campaign in campaigns:
        progress = progress_of(ctx.session, campaign)
        rows.append((
            campaign.name, _days(campaign), _when_text(ctx.t, campaign, today),
            ctx.t("campaign.row_posts", planned=progress.planned,
                  published=progress.count("published")),
            _goal_text(ctx.t, campaign),
        ))  # fmt: skip
    return Reply(title, sections=[Section(rows=rows)])


def _review_parts(words: list[str]) -> dict[str, str]:
    parts: dict[str, str] = {}
    text = " ".join(words)
    for piece in REVIEW_SPLIT.split(text):
        piece = piece.strip()
        if not piece:
            continue
        label, colon, said = piece.replace("：", ":").partition(":")
        kind = REVIEW_LABELS.get(label.strip().casefold()) if colon else None
        if kind is None:
            raise CommandError("campaign.error.review_label", part=piece[:30])
        if kind in parts:
            raise CommandError("campaign.error.review_twice", part=piece[:30])
        said = said.strip()
        if not said:
            raise CommandError("campaign.error.review_empty", part=piece[:30])
        if len(said) > REASON_MAX_LENGTH:
            raise CommandError("errors.reason_too_long", max=REASON_MAX_LENGTH)
        parts[kind] = said
    if not parts:
        raise CommandError("campaign.error.review_missing")
    return parts


@family.subcommand("review", "复盘")
def review_campaign(ctx: Context, args: list[str]) -> Reply:
    """`<name> worked: … | didnt: …` (`做得好：… | 不足：…`)."""
    campaign = _campaign(ctx, args[0] if args else None)
    parts = _review_parts(args[1:])
    if ctx.member.id != campaign.owner and ctx.member.role not in EDIT_ROLES:
        raise CommandError("campaign.error.not_owner", show_usage=False)
    if ctx.today() < campaign.ends_on:
        raise CommandError("campaign.error.not_over", name=campaign.name,
                           last=ctx.day_text(campaign.ends_on), show_usage=False)  # fmt: skip
    if campaign.review_state == "posted":
        raise CommandError("campaign.error.reviewed", name=campaign.name, show_usage=False)
    now = ctx.now()
    campaign.worked, campaign.didnt = parts.get("worked"), parts.get("didnt")
    campaign.reviewed_by, campaign.reviewed_at = ctx.member.id, now
    campaign.review_state = "answered"
    lessons = [
        playbook_store.add_lesson(
            ctx.session,
            Lesson(
                team_id=ctx.team.id,
                text=text,
                tags=[campaign.name, ctx.t(f"campaign.review.tag_{kind}")],
                created_by=ctx.member.id,
                created_at=now,
            ),
        )
        for kind, text in parts.items()
    ]
    reply = review_reply(ctx.t, ctx.session, campaign, member_names(ctx))
    reply.title = ctx.t("campaign.review_recorded", name=campaign.name,
                        lessons=" ".join(f"#{lesson.id}" for lesson in lessons))  # fmt: skip
    reply.tone, reply.audience = Tone.SUCCESS, Audience.ASKER
    return reply


def review_reply(
    t: Translator, session: Session, campaign: Campaign, names: dict[str, str]
) -> Reply:
    """The review as the channel sees it: results against the goal, what worked, what not."""
    sections = [
        Section(title=t("campaign.review.results"), lines=result_lines(t, session, campaign))
    ]
    if campaign.worked:
        sections.append(Section(title=t("campaign.review.worked"), lines=[campaign.worked]))
    if campaign.didnt:
        sections.append(Section(title=t("campaign.review.didnt"), lines=[campaign.didnt]))
    by = names.get(campaign.reviewed_by or "", campaign.reviewed_by or "")
    sections.append(Section(lines=[t("campaign.review.by", name=by, tag=campaign.name)]))
    title = t("campaign.review.title", name=campaign.name, days=_days(campaign))
    return Reply(title, sections=sections, audience=Audience.CHANNEL)


# -- the digest and the weekly summary ---------------------------------------------------


def campaign_warnings(ctx: Context, day: date, now: datetime) -> list[str]:
    """For the digest: a campaign running on `day` whose posts slipped (planned time
    passed, not published), or that has days left and no confirmed post."""
    lines = []
    for campaign in campaign_store.campaigns_between(
        ctx.session, team_id=ctx.team.id, first=day, last=day
    ):
        posts = progress_of(ctx.session, campaign).posts
        slipped = [post for post in posts if post.status in SLIPPING and post.planned_at < now]
        if slipped:
            lines.append(ctx.t(
                "campaign.digest.slipped", name=campaign.name, count=len(slipped),
                posts="、".join(f"#{p.id}{quoted_title(ctx, p.title)}" for p in slipped),
            ))  # fmt: skip
        if not any(post.status in ("confirmed", "published") for post in posts):
            lines.append(ctx.t("campaign.digest.unconfirmed", name=campaign.name,
                               days=(campaign.ends_on - day).days + 1))  # fmt: skip
    return lines


def campaign_summary_section(
    session: Session, *, team_id: str, week_start: date, t: Translator
) -> Section | None:
    """For the weekly summary: a line per campaign that ran during the week."""
    campaigns = campaign_store.campaigns_between(
        session, team_id=team_id, first=week_start, last=week_start + timedelta(days=6)
    )
    if not campaigns:
        return None
    lines = []
    for campaign in campaigns:
        progress = progress_of(session, campaign)
        line = t("campaign.summary_line", name=campaign.name, days=_days(campaign),
                 published=progress.count("published"), planned=progress.planned)  # fmt: skip
        figures = _figures_text(t, post_figures(session, progress.posts))
        lines.append(f"{line} · {figures}" if figures else line)
    return Section(title=t("campaign.summary_title"), lines=lines)


# -- the job: asking for the review, and posting it ---------------------------------------


class _ReviewsDue:
    def __call__(self, ctx: Context) -> list[Occurrence]:
        found = []
        for campaign in campaign_store.reviews_due(
            ctx.session, team_id=ctx.team.id, today=ctx.today()
        ):
            assert campaign.id is not None
            if campaign.review_state == "pending":
                if ctx.local(ctx.now()).time() < ctx.team.workday.start:
                    continue  # asked in working hours, not at midnight
                found.append(Occurrence(f"campaign-{campaign.id}:ask", _ask(campaign.id)))
            else:
                found.append(Occurrence(f"campaign-{campaign.id}:review", _post(campaign.id)))
        return found

    def teams_due(self, session: Session, teams: Sequence[TeamSettings], now: datetime) -> set[str]:
        # A day ahead of UTC covers every team's zone; `due` then asks each its own today.
        ahead = (now.astimezone(UTC) + timedelta(days=1)).date()
        return campaign_store.teams_with_review_due(
            session, team_ids=[team.id for team in teams], ended_before=ahead
        )


def _ask(campaign_id: int) -> Callable[[Context], list[Outgoing]]:
    def build(ctx: Context) -> list[Outgoing]:
        campaign = ctx.session.get(Campaign, campaign_id)
        if campaign is None or campaign.review_state != "pending":
            return []
        campaign.review_state = "asked"
        owner = member_store.get_member(
            ctx.session, team_id=ctx.team.id, member_id=campaign.owner, include_removed=False
        )
        if owner is None:  # a removed owner is asked nothing; anyone may still review
            return []
        lines = result_lines(ctx.t, ctx.session, campaign)
        lines.append(ctx.t("campaign.ask.how", name=campaign.name))
        reply = Reply(
            ctx.t("campaign.ask.title", name=campaign.name, days=_days(campaign)),
            tone=Tone.WARNING,
            sections=[Section(lines=lines)],
            buttons=[Button(ctx.t("campaign.ask.button"), f"/campaign show {campaign.name}")],
        )
        return [Outgoing(member_target(campaign.owner), reply)]

    return build


def _post(campaign_id: int) -> Callable[[Context], list[Outgoing]]:
    def build(ctx: Context) -> list[Outgoing]:
        campaign = ctx.session.get(Campaign, campaign_id)
        if campaign is None or campaign.review_state != "answered":
            return []
        campaign.review_state = "posted"
        names = member_store.member_names(ctx.session, team_id=ctx.team.id)
        return [Outgoing(TEAM, review_reply(ctx.t, ctx.session, campaign, names))]

    return build


CAMPAIGN_REVIEW = EventJob("campaign_review", due=_ReviewsDue())
