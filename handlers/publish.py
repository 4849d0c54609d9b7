"""`/publish` (`/发布`): the content calendar and the two-step publish confirmation.

Every post is confirmed twice before it goes out: first by its author (the owner), then
by a reviewer — the named reviewer, or any other member who is an editor or admin. A
reviewer may instead send it back with a reason (`reject`, status `changes_requested`):
the author is told by direct message, and their next confirmation starts the two steps
again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.core.commands import CommandFamily, Context, Speaker
from bot.core.errors import CommandError
from bot.core.i18n import Translator
from bot.core.messages import Audience, Button, Notice, Reply, Section, Tone
from bot.core.render.text import shorten
from bot.vocab.arguments import (
    OnceEach,
    parse_id,
    parse_mention,
    parse_platform,
    split_option,
    unquote,
)
from bot.vocab.errors import InputError
from bot.vocab.when import local_midnight, parse_date, parse_when, split_trailing_when, week_bounds
from handlers.campaign_tags import link_to_campaign, take_campaign_tag
from handlers.post_figures import best_slot_on, tiers
from handlers.records import load_record
from handlers.team import resolve_member
from storage import members as member_store
from storage import posts as post_store
from storage.models import REASON_MAX_LENGTH, TITLE_MAX_LENGTH, URL_MAX_LENGTH, Post, Topic
from storage.posts import PostLine
from storage.team_rows import get_in_team

family = CommandFamily("publish", aliases=("发布",))

REVIEWER_ROLES = ("editor", "admin")
CLOSED_POST_STATUSES = ("published", "cancelled")
# The author's confirmation is what these wait for: a new post, or one sent back.
AWAITING_AUTHOR = ("planned", "changes_requested")
STATE_ICONS = {
    "planned": "⏳",
    "author_confirmed": "✅",
    "confirmed": "✅",
    "changes_requested": "↩",
    "published": "📤",
    "cancelled": "✖",
}
THIS_WEEK_WORDS = {"week", "本周", "这周", "this-week"}
MINE_WORDS = {"mine", "我的"}
ALL_WORDS = {"all", "全部"}
ALL_AHEAD = timedelta(days=90)
NEXT_WEEK_WORDS = {"next", "next-week", "下周"}


# -- shared with /topic schedule and the digest ------------------------------------------


def member_names(ctx: Context) -> dict[str, str]:
    """Display names, removed members included: their posts still name them."""
    return member_store.member_names(ctx.session, team_id=ctx.team.id)


def quoted_title(ctx: Context, title: str) -> str:
    return ctx.t("publish.quoted_title", title=title)


def post_state(ctx: Context, post: PostLine) -> str:
    return ctx.t(f"post_state.{post.status}")


def post_row(ctx: Context, post: PostLine, names: dict[str, str]) -> tuple[str, ...]:
    """`#7  20:00  公众号  《冬季护肤指南》  Bob → Carol  ✅ 作者已确认 · ⏳ 待审核`"""
    reviewer_id = post.reviewer_confirmed_by or post.reviewer  # a stand-in who reviewed shows
    reviewer = names.get(reviewer_id or "", reviewer_id) or ctx.t("publish.any_reviewer")
    return (
        f"#{post.id}",
        ctx.local(post.planned_at).strftime("%H:%M"),
        ctx.content_platforms.name(post.platform, ctx.locale),
        quoted_title(ctx, shorten(post.title)),
        f"{names.get(post.owner, post.owner)} → {reviewer}",
        post_state(ctx, post),
    )


def day_heading(ctx: Context, day: datetime) -> str:
    return ctx.t("publish.day_heading", **ctx.day_label(day))


def can_review(member: Speaker, post: Post) -> bool:
    """A different member who is the named reviewer, or an editor or admin."""
    return member.id != post.owner and (member.id == post.reviewer or member.role in REVIEWER_ROLES)


def review_buttons(t: Translator, post_id: int | None) -> list[Button]:
    """What a reviewer may do with a post waiting for review: confirm it, or send it back.

    The reason for sending it back is required, and a button cannot ask for one: the
    "request changes" button runs `/publish reject <id>` without it, and the refusal
    names the line to send (`/发布 退回 7 <原因>`) — no default reason is ever stored.
    """
    return [
        Button(t("button.confirm"), f"/publish confirm {post_id}", "primary"),
        Button(t("button.request_changes"), f"/publish reject {post_id}", "danger"),
    ]


def plan_post(
    ctx: Context,
    *,
    title: str,
    platform: str,
    planned_at: datetime,
    reviewer: Speaker | None,
    topic: Topic | None = None,
) -> Post:
    """Put a post in the calendar, owned by the speaker; refuses the past and self-review."""
    if planned_at <= ctx.now():
        raise CommandError(
            "publish.error.in_the_past", when=ctx.local(planned_at).strftime("%Y-%m-%d %H:%M")
        )
    if reviewer is not None and reviewer.id == ctx.member.id:
        raise CommandError("publish.error.self_review")
    now = ctx.now()
    post = post_store.add_post(
        ctx.session,
        Post(
            team_id=ctx.team.id,
            topic_id=topic.id if topic else None,
            title=title,
            platform=platform,
            planned_at=planned_at,
            owner=ctx.member.id,
            reviewer=reviewer.id if reviewer else None,
            created_by=ctx.member.id,
            created_at=now,
            updated_at=now,
        ),
    )
    if topic is not None:
        topic.status = "scheduled"
        topic.updated_at = now
    return post


def planned_reply(ctx: Context, post: Post) -> Reply:
    names = member_names(ctx)
    reviewer = names.get(post.reviewer or "", post.reviewer) or ctx.t("publish.any_reviewer")
    return Reply(
        ctx.t(
            "publish.planned",
            id=post.id,
            title=quoted_title(ctx, post.title),
            when=ctx.instant_text(post.planned_at),
            platform=ctx.content_platforms.name(post.platform, ctx.locale),
            reviewer=reviewer,
        ),
        tone=Tone.SUCCESS,
        buttons=[Button(ctx.t("button.confirm"), f"/publish confirm {post.id}", "primary")],
    )


# -- the sub-commands -----------------------------------------------------------------


def _load(ctx: Context, word: str | None) -> Post:
    return load_record(ctx, Post, word, not_found="publish.error.not_found")


def _require_open(ctx: Context, post: Post) -> None:
    if post.status in CLOSED_POST_STATUSES:
        raise CommandError(
            "publish.error.closed",
            title=quoted_title(ctx, post.title),
            status=post_state(ctx, post),
            show_usage=False,
        )


def _require_manager(ctx: Context, post: Post) -> None:
    """Its owner, its reviewer, editors and admins may move, cancel or close a post."""
    member = ctx.member
    if member.id not in (post.owner, post.reviewer) and member.role not in REVIEWER_ROLES:
        raise CommandError("publish.error.not_allowed", show_usage=False)


def read_post_options(
    ctx: Context, words: list[str], *, platform_needed: bool = True
) -> PostOptions:
    """`<title> p:<platform> <when> [@reviewer]`: the options read from the end of the
    line (in any order there, each once); the words before them are the title."""
    quoted, words = unquote(words)
    found = PostOptions()
    given = OnceEach()
    while words:
        word = words[-1]
        mention = parse_mention(word)
        option = split_option(word)
        if mention is not None:
            if found.reviewer is not None:
                raise CommandError("publish.error.two_reviewers", first=found.reviewer.name,
                                   second=word[:30])  # fmt: skip
            found.reviewer = resolve_member(ctx, mention)
            words = words[:-1]
        elif option is not None and option[0] == "p":
            given.give("platform", word)
            found.platform = parse_platform(option[1], ctx.content_platforms)
            words = words[:-1]
        elif found.planned_at is None:
            words, found.planned_at = split_trailing_when(words, now=ctx.now(), zone=ctx.team.zone)
        else:
            break
    if quoted is not None:
        if words:
            raise CommandError("errors.extra_words", words=" ".join(words)[:40])
        words = [quoted] if quoted else []
    if platform_needed and found.platform is None:
        raise CommandError("publish.error.missing_platform")
    if found.planned_at is None:
        raise CommandError("when.error.missing_when", value="–")
    found.title = " ".join(words)
    return found


@dataclass
class PostOptions:
    title: str = ""
    platform: str | None = None
    planned_at: datetime | None = None
    reviewer: Speaker | None = None


def check_title(title: str, missing: str) -> str:
    if not title:
        raise CommandError(missing)
    if len(title) > TITLE_MAX_LENGTH:
        raise CommandError("errors.title_too_long", max=TITLE_MAX_LENGTH, length=len(title))
    return title


@family.subcommand("add", "新增")
def add_post(ctx: Context, args: list[str]) -> Reply:
    args, campaign = take_campaign_tag(ctx, args)  # `+双十一` last
    try:
        found = read_post_options(ctx, args)
    except InputError as error:
        if error.message_key == "when.error.missing_time":
            _offer_best_slot(ctx, args, str(error.params.get("value", "")))
        raise
    title = check_title(found.title, "publish.error.missing_title")
    assert found.platform is not None and found.planned_at is not None
    post = plan_post(
        ctx, title=title, platform=found.platform, planned_at=found.planned_at,
        reviewer=found.reviewer,
    )  # fmt: skip
    reply = planned_reply(ctx, post)
    reply.title += link_to_campaign(ctx, campaign, "post", post.id)
    return reply


def _offer_best_slot(ctx: Context, args: list[str], day_words: str) -> None:
    """A day with no time (`p:xhs 明天`) stores nothing, as ever; when the platform's
    past posts point to a best hour that weekday, the refusal offers it as the command
    to send (`handlers.post_figures`: medians, at least three posts a slot)."""
    from handlers.best_time import best_time_for  # the KPI family's; only when asked

    platforms = [value for word in args if (option := split_option(word)) and option[0] == "p"
                 for value in [option[1]]]  # fmt: skip
    if len(platforms) != 1:
        return
    platform = ctx.content_platforms.resolve(platforms[0])
    try:
        day = parse_date(day_words.split(), today=ctx.today())
    except InputError:
        return
    if platform is None:
        return
    best = best_time_for(ctx, platform, "reads")
    slot = None if best.too_few else best_slot_on(best, day.weekday())
    if slot is None:
        return
    if day == ctx.today() and slot.hour <= ctx.local(ctx.now()).hour:
        return  # that hour has begun or passed today: offering it would only be refused
    time = f"{slot.hour:02d}:00"
    # The time right after the day words (`明天 20:00 @bob`), where the line reads it.
    typed = ctx.command.text.strip()
    at = typed.rfind(day_words)
    command = f"{typed[: at + len(day_words)]} {time}{typed[at + len(day_words) :]}"
    if at < 0:
        command = f"{typed} {time}"
    raise CommandError("best_time.offer", day=day_words, time=time, posts=slot.posts,
                       command=command, show_usage=False)  # fmt: skip


def _posts_on_days(ctx: Context, first: date, last: date) -> list[PostLine]:
    """The posts planned on these days, as rows: the listings only read them."""
    return list(
        post_store.post_lines_between(
            ctx.session,
            team_id=ctx.team.id,
            start=local_midnight(first, ctx.team.zone),
            end=local_midnight(last + timedelta(days=1), ctx.team.zone),
        )
    )


@family.subcommand("today", "今日", "今天", reads_only=True)
def publish_today(ctx: Context, args: list[str]) -> Reply:
    if args:
        raise CommandError("errors.extra_words", words=" ".join(args)[:40])
    today = ctx.today()
    # A cancelled post is not something to publish today.
    posts = [post for post in _posts_on_days(ctx, today, today) if post.status != "cancelled"]
    heading = ctx.t(
        "publish.today_title",
        **ctx.day_label(today),
        count=len(posts),
    )
    if not posts:
        return Reply(heading, sections=[Section(lines=[ctx.t("publish.nothing_today")])])
    names = member_names(ctx)
    return Reply(heading, sections=[Section(rows=[post_row(ctx, post, names) for post in posts])])


@family.subcommand("list", "列表", "ls", reads_only=True)
def list_posts(ctx: Context, args: list[str]) -> Reply:
    """`[mine] [<date>|week|next|all]`: a day, a week, or everything from today on."""
    today = ctx.today()
    mine = any(word.casefold() in MINE_WORDS for word in args)
    rest = [word for word in args if word.casefold() not in MINE_WORDS]
    word = rest[0].casefold() if rest else "week"
    if len(rest) > 1:
        raise CommandError("errors.extra_words", words=" ".join(rest[1:])[:40])
    if word in THIS_WEEK_WORDS or word in NEXT_WEEK_WORDS:
        first, last = week_bounds(today + timedelta(days=7 if word in NEXT_WEEK_WORDS else 0))
    elif word in ALL_WORDS:
        first, last = today, today + ALL_AHEAD
    else:
        first = last = parse_date(rest, today=today)
    posts = _posts_on_days(ctx, first, last)
    if mine:
        me = ctx.member.id
        posts = [p for p in posts if me in (p.owner, p.reviewer, p.reviewer_confirmed_by)]
    title = ctx.t(
        "publish.list_title",
        start=first.strftime("%m-%d"),
        end=last.strftime("%m-%d"),
        count=len(posts),
    )
    if first == last:
        title = ctx.t(
            "publish.day_title",
            **ctx.day_label(first),
            count=len(posts),
        )
    if not posts:
        return Reply(title, sections=[Section(lines=[ctx.t("publish.nothing_planned")])])
    names = member_names(ctx)
    # A published post's reads beside it, as a tier of its platform's last 90 days.
    placed = tiers(ctx.session, team_id=ctx.team.id,
                   posts=[post for post in posts if post.status == "published"])  # fmt: skip
    sections: list[Section] = []
    for post in posts:
        local_day = ctx.local(post.planned_at)
        heading = day_heading(ctx, local_day)
        if not sections or sections[-1].title != heading:
            sections.append(Section(title=heading if first != last else None))
        row = post_row(ctx, post, names)
        if post.id in placed:
            row = (*row[:-1], f"{row[-1]} · {ctx.t(f'tier.{placed[post.id].value}')}")
        sections[-1].rows.append(row)
    return Reply(title, sections=sections)


@family.subcommand("confirm", "确认")
def confirm_post(ctx: Context, args: list[str]) -> Reply:
    post = _load(ctx, args[0] if args else None)
    if len(args) > 1:
        raise CommandError("errors.extra_words", words=" ".join(args[1:])[:40])
    _require_open(ctx, post)
    names = member_names(ctx)
    me, title = ctx.member, quoted_title(ctx, post.title)
    owner = names.get(post.owner, post.owner)
    reviewer = names.get(post.reviewer or "", post.reviewer) or ctx.t("publish.any_reviewer")
    if post.status == "confirmed":
        raise CommandError("publish.error.already_confirmed", title=title, show_usage=False)
    if post.status in AWAITING_AUTHOR:
        if me.id != post.owner:
            if not can_review(me, post):
                key = "publish.error.only_author"
            elif post.status == "changes_requested":
                key = "publish.error.changes_first"
            else:
                key = "publish.error.author_first"
            raise CommandError(key, title=title, owner=owner, show_usage=False)
        # After a request for changes, the author's confirmation says "changed as asked";
        # the reviewer then confirms as usual, with the reason in view.
        key = (
            "publish.author_reconfirmed"
            if post.status == "changes_requested"
            else "publish.author_confirmed"
        )
        post.status, post.author_confirmed_at = "author_confirmed", ctx.now()
        post.updated_at = ctx.now()
        return Reply(
            ctx.t(key, name=me.name, title=title, reviewer=reviewer,
                  reason=post.changes_requested_reason or ""),
            tone=Tone.SUCCESS,
            buttons=review_buttons(ctx.t, post.id),
        )  # fmt: skip
    if me.id == post.owner:
        raise CommandError("publish.error.own_post", title=title, show_usage=False)
    if not can_review(me, post):
        raise CommandError("publish.error.not_reviewer", reviewer=reviewer, show_usage=False)
    post.status, post.reviewer_confirmed_at = "confirmed", ctx.now()
    post.reviewer_confirmed_by = me.id
    post.reviewer = post.reviewer or me.id
    post.updated_at = ctx.now()
    return Reply(
        ctx.t(
            "publish.reviewer_confirmed",
            name=me.name,
            title=title,
            when=ctx.instant_text(post.planned_at),
            platform=ctx.content_platforms.name(post.platform, ctx.locale),
        ),
        tone=Tone.SUCCESS,
        audience=Audience.CHANNEL,
        buttons=[Button(ctx.t("button.done"), f"/publish done {post.id}")],
    )


@family.subcommand("done", "已发布", "发布了")
def mark_published(ctx: Context, args: list[str]) -> Reply:
    if len(args) > 2:
        raise CommandError("errors.extra_words", words=" ".join(args[2:])[:40])
    url = args[1] if len(args) == 2 else None
    if url is not None and not url.startswith(("http://", "https://")):
        raise CommandError("publish.error.bad_url", value=url[:60])
    if url is not None and len(url) > URL_MAX_LENGTH:
        raise CommandError("publish.error.url_too_long", length=len(url), max=URL_MAX_LENGTH)
    post = _load(ctx, args[0] if args else None)
    _require_open(ctx, post)
    _require_manager(ctx, post)
    unconfirmed = post.status != "confirmed"
    sent_back = post.status == "changes_requested"
    now = ctx.now()
    post.status, post.published_at, post.url, post.updated_at = "published", now, url, now
    if post.topic_id is not None:
        topic = get_in_team(ctx.session, Topic, team_id=ctx.team.id, row_id=post.topic_id)
        if topic is not None:
            topic.status, topic.updated_at = "published", now
    lines = [url] if url else []
    if sent_back:  # published anyway: say so, with what the reviewer had asked
        lines.append(
            ctx.t("publish.published_changes_requested", reason=post.changes_requested_reason)
        )
    elif unconfirmed:
        lines.append(ctx.t("publish.published_unconfirmed"))
    return Reply(
        ctx.t(
            "publish.published",
            title=quoted_title(ctx, post.title),
            platform=ctx.content_platforms.name(post.platform, ctx.locale),
            when=ctx.local(now).strftime("%m-%d %H:%M"),
        ),
        tone=Tone.SUCCESS,
        sections=[Section(lines=lines)] if lines else [],
        audience=Audience.CHANNEL,
    )


@family.subcommand("move", "改期")
def move_post(ctx: Context, args: list[str]) -> Reply:
    parse_id(args[0] if args else None)  # a missing id is reported before the time
    planned_at = parse_when(args[1:], now=ctx.now(), zone=ctx.team.zone)
    post = _load(ctx, args[0])
    _require_open(ctx, post)
    _require_manager(ctx, post)
    if planned_at <= ctx.now():
        raise CommandError(
            "publish.error.in_the_past", when=ctx.local(planned_at).strftime("%Y-%m-%d %H:%M")
        )
    # A post sent back stays sent back: a new time is not the change the reviewer asked
    # for, and it has no confirmations left to clear.
    cleared = post.status not in AWAITING_AUTHOR
    post.planned_at = planned_at
    if post.status != "changes_requested":
        post.status = "planned"
    post.author_confirmed_at = post.reviewer_confirmed_at = post.reviewer_confirmed_by = None
    post.updated_at = ctx.now()
    message = ctx.t(
        "publish.moved",
        title=quoted_title(ctx, post.title),
        when=ctx.instant_text(planned_at),
    )
    if cleared:
        message += ctx.t("publish.confirmations_cleared")
    return Reply(message + _still_sent_back(ctx, post), tone=Tone.SUCCESS)


@family.subcommand("cancel", "取消")
def cancel_post(ctx: Context, args: list[str]) -> Reply:
    post = _load(ctx, args[0] if args else None)
    if len(args) > 1:
        raise CommandError("errors.extra_words", words=" ".join(args[1:])[:40])
    _require_open(ctx, post)
    _require_manager(ctx, post)
    post.status, post.updated_at = "cancelled", ctx.now()
    if post.topic_id is not None and not post_store.active_posts_of_topic(
        ctx.session, topic_id=post.topic_id
    ):
        topic = get_in_team(ctx.session, Topic, team_id=ctx.team.id, row_id=post.topic_id)
        if topic is not None and topic.status == "scheduled":
            topic.status, topic.updated_at = "idea", ctx.now()
    return Reply(ctx.t("publish.cancelled", title=quoted_title(ctx, post.title)), tone=Tone.SUCCESS)


@family.subcommand("edit", "修改")
def edit_post(ctx: Context, args: list[str]) -> Reply:
    """`/publish edit 7 新标题`: only the title; the time has `/publish move`."""
    post = _load(ctx, args[0] if args else None)
    quoted, words = unquote(args[1:])
    if quoted is not None and words:
        raise CommandError("errors.extra_words", words=" ".join(words)[:40])
    title = check_title(
        quoted if quoted is not None else " ".join(words), "publish.error.missing_title"
    )
    _require_open(ctx, post)
    _require_manager(ctx, post)
    before = post.title
    post.title, post.updated_at = title, ctx.now()
    # A new title may well be the change asked for, but only the author's confirmation
    # says the post is ready again: renaming leaves it sent back.
    return Reply(
        ctx.t("publish.edited", id=post.id, before=quoted_title(ctx, before),
              title=quoted_title(ctx, title)) + _still_sent_back(ctx, post),
        tone=Tone.SUCCESS,
    )  # fmt: skip


def _still_sent_back(ctx: Context, post: Post) -> str:
    """The echo's tail for a post that is still waiting for its author's changes."""
    if post.status != "changes_requested":
        return ""
    names = member_names(ctx)
    return ctx.t(
        "publish.still_changes_requested", owner=names.get(post.owner, post.owner), id=post.id
    )


@family.subcommand("reject", "退回", "退回修改")
def reject_post(ctx: Context, args: list[str]) -> Reply:
    """`/publish reject 7 标题太长`: a reviewer sends the post back to its author.

    Only someone who may review it may send it back, and only with a reason — the author
    has to know what to change, so a bare `reject` (the button) is refused with the line
    to send. Both confirmations are cleared; the author is told by direct message in
    this command's transaction, so the message goes out once and only if this stands.
    """
    post = _load(ctx, args[0] if args else None)
    _require_open(ctx, post)
    names = member_names(ctx)
    me, title = ctx.member, quoted_title(ctx, post.title)
    owner = names.get(post.owner, post.owner)
    if me.id == post.owner:
        raise CommandError("publish.error.reject_own", title=title, show_usage=False)
    if not can_review(me, post):
        reviewer = names.get(post.reviewer or "", post.reviewer) or ctx.t("publish.any_reviewer")
        raise CommandError("publish.error.not_reviewer", reviewer=reviewer, show_usage=False)
    reason = _reason(args[1:])
    if not reason:
        raise CommandError("publish.error.missing_reason", id=post.id)
    if len(reason) > REASON_MAX_LENGTH:
        raise CommandError("errors.reason_too_long", max=REASON_MAX_LENGTH)
    now = ctx.now()
    post.status, post.updated_at = "changes_requested", now
    post.author_confirmed_at = post.reviewer_confirmed_at = post.reviewer_confirmed_by = None
    post.changes_requested_reason, post.changes_requested_by = reason, me.id
    post.changes_requested_at = now
    when = ctx.instant_text(post.planned_at)
    platform = ctx.content_platforms.name(post.platform, ctx.locale)
    message = ctx.t(
        "publish.rejected", name=me.name, id=post.id, title=title, owner=owner, reason=reason
    )
    notices = []
    # A removed author is told nothing (as publish reminders skip them).
    if member_store.get_member(
        ctx.session, team_id=ctx.team.id, member_id=post.owner, include_removed=False
    ):
        message += ctx.t("publish.rejected_notified", owner=owner)
        notice = Reply(
            ctx.t("publish.changes_requested_notice", name=me.name, id=post.id, title=title,
                  when=when, platform=platform, reason=reason),
            tone=Tone.WARNING,
            buttons=[Button(ctx.t("button.confirm_changes"), f"/publish confirm {post.id}",
                            "primary")],
        )  # fmt: skip
        notices.append(Notice(member_id=post.owner, reply=notice))
    # The post's row echoes the stored state: sent back, no confirmation left.
    return Reply(
        message,
        tone=Tone.SUCCESS,
        sections=[Section(rows=[post_row(ctx, post, names)])],
        notices=notices,
    )


def _reason(words: list[str]) -> str:
    """The reason as typed; a reason given wholly in quotes loses them."""
    quoted, rest = unquote(words)
    if quoted is not None and not rest:
        return quoted
    return " ".join(words).strip()
