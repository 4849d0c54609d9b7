"""`+<campaign>`: tagging a topic or post to a campaign as it is created.

Kept apart from `handlers/campaigns.py` so that `/topic add` and `/publish add` can use
it without importing the campaign feature (which imports them). The tag is the LAST word
of the line (`/发布 新增 预热海报 p:公众号 明天 20:00 +双十一`) and must name a campaign
of the team, or the line is refused: a `+word` at the end is never silently kept as
title text. A `+<campaign>` elsewhere in the line is refused too, naming where it goes; a
title that really ends in `+something` is quoted.
"""

from __future__ import annotations

from bot.core.commands import Context
from bot.core.errors import CommandError
from storage import campaigns as campaign_store
from storage.models import Campaign, CampaignLink

TAG_MARKS = ("+", "＋")
QUOTE_MARKS = "\"'「」“”『』"


def _tag_name(word: str) -> str | None:
    if len(word) < 2 or not word.startswith(TAG_MARKS) or any(q in word for q in QUOTE_MARKS):
        return None
    return word[1:]


def take_campaign_tag(ctx: Context, words: list[str]) -> tuple[list[str], Campaign | None]:
    """The words without a trailing `+<campaign>`, and that campaign (or None)."""
    for word in words[:-1]:
        name = _tag_name(word)
        if name is not None and campaign_store.campaign_named(
            ctx.session, team_id=ctx.team.id, name=name
        ):
            raise CommandError("campaign.error.tag_last", tag=word[:30])
    name = _tag_name(words[-1]) if words else None
    if name is None:
        return words, None
    campaign = campaign_store.campaign_named(ctx.session, team_id=ctx.team.id, name=name)
    if campaign is None:
        raise CommandError("campaign.error.unknown_tag", name=name[:30])
    return words[:-1], campaign


def link_to_campaign(ctx: Context, campaign: Campaign | None, kind: str, ref_id: int | None) -> str:
    """Tag the record to the campaign; the tail the reply's echo gets (`· 专题「双十一」`)."""
    if campaign is None or ref_id is None:
        return ""
    assert campaign.id is not None
    campaign_store.add_link(
        ctx.session,
        CampaignLink(campaign_id=campaign.id, kind=kind, ref_id=ref_id,
                     created_by=ctx.member.id, created_at=ctx.now()),
    )  # fmt: skip
    return ctx.t("campaign.tagged", name=campaign.name)


def campaign_tag(ctx: Context, word: str) -> str:
    """`/playbook add … campaign <name|id>`: the campaign's name, as the lesson's tag."""
    campaign = campaign_store.campaign_named(ctx.session, team_id=ctx.team.id, name=word)
    if campaign is None and word.isdecimal() and len(word) < 10:
        found = ctx.session.get(Campaign, int(word))
        campaign = found if found is not None and found.team_id == ctx.team.id else None
    if campaign is None:
        raise CommandError("campaign.error.not_found", name=word[:30], show_usage=False)
    return campaign.name
