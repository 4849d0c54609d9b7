"""The team's calendar as iCalendar (RFC 5545): what members subscribe to in Feishu,
Outlook, Google or Apple calendars (`GET /calendar/<team>.ics?token=…`), or what
`opsbot calendar export --ics` writes.

Events, built with the maintained `icalendar` package:
- each post planned or published from `PAST_DAYS` ago to `AHEAD_DAYS` ahead, at its time
  in the team's timezone (a VTIMEZONE is included), `POST_MINUTES` long. Its UID is
  `post-<id>@<team>.opsbot`, the same for ever, and `SEQUENCE` (seconds from its creation
  to its last change) and `LAST-MODIFIED` grow with each change, so a moved post is
  updated in the subscriber's calendar, not duplicated. A series occurrence is an
  ordinary post, so series come in here too; `_post_categories` is where a post that
  belongs to a series or a campaign would say so.
- each marketing date of the same days (built-in ones the team did not hide, and its
  own), an all-day event with the UID `date-<key>-<year>@<team>.opsbot` (a team date:
  `date-own-<id>@…`), marked free time (`TRANSP:TRANSPARENT`).
Cancelled posts are left out: a subscribed calendar is re-read whole, so they disappear.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Event

from bot.core.commands import Context
from bot.vocab.when import local_midnight
from handlers.calendar import TIED_POST_STATUSES, date_name, marketing_dates
from handlers.publish import post_state, quoted_title
from storage import members as member_store
from storage import posts as post_store
from storage.models import Post

PAST_DAYS = 60
AHEAD_DAYS = 366
POST_MINUTES = 30
PRODUCT = "-//opsbot//content calendar//EN"


def post_uid(team_id: str, post_id: int | None) -> str:
    return f"post-{post_id}@{team_id}.opsbot"


def _post_categories(post: Post) -> list[str]:
    """The hook for what a post belongs to: a series occurrence or a campaign's post
    (when posts carry a `series_id` or a campaign) adds its name here."""
    series = getattr(post, "series_id", None)
    return [f"series-{series}"] if series is not None else []


def _post_event(ctx: Context, post: Post, names: dict[str, str]) -> Event:
    start = ctx.local(post.planned_at)
    event = Event()
    event.add("uid", post_uid(ctx.team.id, post.id))
    event.add("dtstamp", post.updated_at)
    event.add("last-modified", post.updated_at)
    event.add("sequence", max(0, int((post.updated_at - post.created_at).total_seconds())))
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=POST_MINUTES))
    platform = ctx.content_platforms.name(post.platform, ctx.locale)
    event.add("summary", ctx.t("calendar.ics.post", title=quoted_title(ctx, post.title),
                               platform=platform))  # fmt: skip
    reviewer = names.get(post.reviewer or "", post.reviewer) or ctx.t("publish.any_reviewer")
    event.add("description", ctx.t(
        "calendar.ics.post_description", id=post.id, owner=names.get(post.owner, post.owner),
        reviewer=reviewer, state=post_state(ctx, post),
    ))  # fmt: skip
    event.add("status", "CONFIRMED" if post.status in ("confirmed", "published") else "TENTATIVE")
    if post.url:
        event.add("url", post.url)
    categories = _post_categories(post)
    if categories:
        event.add("categories", categories)
    return event


def build_feed(ctx: Context) -> tuple[bytes, int, int]:
    """The feed's bytes, and how many posts and marketing dates it holds."""
    today, zone = ctx.today(), ctx.team.zone
    first, last = today - timedelta(days=PAST_DAYS), today + timedelta(days=AHEAD_DAYS)
    calendar = Calendar()
    calendar.add("prodid", PRODUCT)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", ctx.t("calendar.ics.name", team=ctx.team.display_name))
    calendar.add("x-wr-timezone", str(zone))
    names = member_store.member_names(ctx.session, team_id=ctx.team.id)
    posts = post_store.posts_between(
        ctx.session, team_id=ctx.team.id, statuses=TIED_POST_STATUSES,
        start=local_midnight(first, zone), end=local_midnight(last + timedelta(days=1), zone),
    )  # fmt: skip
    for post in posts:
        calendar.add_component(_post_event(ctx, post, names))
    dates = marketing_dates(ctx, first, last)
    stamp = datetime(2026, 1, 1, tzinfo=UTC)  # the built-in dates do not change
    for found in dates:
        event = Event()
        year = "" if found.kind == "own" else f"-{found.day.year}"
        event.add("uid", f"date-{found.key}{year}@{ctx.team.id}.opsbot")
        event.add("dtstamp", stamp)
        event.add("dtstart", found.day)
        event.add("dtend", found.day + timedelta(days=1))
        event.add("summary", date_name(ctx, found))
        event.add("description", ctx.t("calendar.ics.date_description",
                                       kind=ctx.t(f"calendar.kind.{found.kind}")))  # fmt: skip
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical(), len(posts), len(dates)
