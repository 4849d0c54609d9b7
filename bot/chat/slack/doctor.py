"""`opsbot doctor` for Slack: does the bot token work?"""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

from bot.chat.base import Check
from bot.chat.slack.client import web_client
from bot.chat.slack.settings import SlackSettings


def check_slack(settings: SlackSettings) -> Check:
    """Whether the bot token works (`auth.test`), for `opsbot doctor`."""
    try:
        result = web_client(settings).auth_test()
    except SlackApiError as error:
        refused = error.response.get("error", error)
        return Check(False, f"platforms.slack: the bot token was refused ({refused})")
    except OSError as error:
        return Check(False, f"platforms.slack: {settings.api_url} cannot be reached ({error})")
    who = f"{result.get('team', '?')} as {result.get('user', '?')}"
    return Check(True, f"platforms.slack: token works for {who} (mode {settings.mode})")
