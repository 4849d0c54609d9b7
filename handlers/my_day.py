"""`/digest me` (`/日报 我的`): one person's day — what a Slack App Home shows them.

The member's plan for today, the posts waiting for their confirmation (as author or as
reviewer), and whether they have answered the stand-up.
"""

from __future__ import annotations

from datetime import timedelta

from bot.core.commands import Context
from bot.core.errors import CommandError
from bot.core.messages import Button, Reply, Section
from bot.vocab.when import local_midnight
from handlers.day_plan import plan_day
from handlers.digest import family
from handlers.publish import can_review, member_names, post_row
from handlers.tasks import plan_heading, plan_rows
from storage import posts as post_store
from storage import standups as standup_store
from storage import tasks as task_store

AHEAD = timedelta(days=7)  # posts to confirm: this week's, not the whole calendar


@family.subcommand("me", "我的", reads_only=True)
def my_day(ctx: Context, args: list[str]) -> Reply:
    if args:
        raise CommandError("errors.extra_words", words=" ".join(args)[:40])
    me, today = ctx.member, ctx.today()
    tasks = task_store.tasks_for_day(
        ctx.session, team_id=ctx.team.id, day=today, today=today, owner=me.id
    )
    plan = plan_day(tasks, day=today, workday=ctx.team.workday)
    names = member_names(ctx)
    start = local_midnight(today, ctx.team.zone)
    waiting = [
        post
        for post in post_store.posts_between(
            ctx.session, team_id=ctx.team.id, start=start, end=start + AHEAD
        )
        if (post.status == "planned" and post.owner == me.id)
        or (post.status == "author_confirmed" and can_review(me, post))
    ]
    answered = standup_store.get_standup(ctx.session, team_id=ctx.team.id, member=me.id, day=today)
    sections = [
        Section(title=plan_heading(ctx, me.name, plan), rows=plan_rows(ctx, plan)),
        Section(
            title=ctx.t("my_day.to_confirm", count=len(waiting)),
            rows=[post_row(ctx, post, names) for post in waiting],
        ),
        Section(title=ctx.t("my_day.standup_done" if answered else "my_day.standup_missing")),
    ]
    buttons = [Button(ctx.t("button.confirm"), f"/publish confirm {p.id}") for p in waiting[:5]]
    if not answered:
        buttons.append(Button(ctx.t("button.answer"), "/standup form", "primary"))
    title = ctx.t("my_day.title", name=me.name, day=ctx.day_text(today))
    return Reply(title, sections=sections, buttons=buttons)
