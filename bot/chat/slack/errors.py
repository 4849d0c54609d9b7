"""Slack's Web API errors, and which of them a retry cannot fix: the one table of them.

Everything not listed here — 5xx answers, HTML error pages, `internal_error`, an
unknown code, a network failure — is tried again with backoff, so an outage never
loses a post. A listed code fails the item at once; its hint says what to do, and
`opsbot doctor` shows it.
"""

from __future__ import annotations

PERMANENT: dict[str, str] = {
    "not_authed": "the bot token is missing: set platforms.slack.bot_token",
    "invalid_auth": "the bot token is wrong: copy the Bot User OAuth Token again",
    "token_revoked": "the app was uninstalled or its token revoked: reinstall it",
    "token_expired": "the token expired: reinstall the app (token rotation is off)",
    "account_inactive": "the bot's account is deactivated: reinstall the app",
    "no_permission": "the app lacks a permission: reinstall it from slack/manifest.yaml",
    "missing_scope": "a scope is missing: reinstall the app from slack/manifest.yaml",
    "not_allowed_token_type": "use the bot token (xoxb-…), not another kind",
    "channel_not_found": "check teams.<team>.channels.slack (the channel's id)",
    "not_in_channel": "invite the bot to the channel: /invite @opsbot",
    "is_archived": "the channel is archived: set another in teams.<team>.channels.slack",
    "restricted_action": "a workspace setting stops the bot posting there",
    "restricted_action_read_only_channel": "the channel is read-only for the bot",
    "cannot_dm_bot": "the member's Slack id is a bot's: fix their slack id in the config",
    "user_not_found": "the member's Slack id is unknown: fix it in the config",
    "user_disabled": "the member's Slack account is deactivated",
    "msg_too_long": "the post is too long for Slack (a bug: posts are split)",
    "no_text": "the post was empty (a bug)",
    "invalid_blocks": "Slack refused the layout (a bug: please report it)",
    "invalid_blocks_format": "Slack refused the layout (a bug: please report it)",
    "invalid_arguments": "Slack refused the request's arguments (a bug: please report it)",
    "method_deprecated": "a retired Slack method was called (a bug: please report it)",
}


def hint(code: str) -> str | None:
    """What to do about a permanent error; None when a retry may succeed."""
    return PERMANENT.get(code)
