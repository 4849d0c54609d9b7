"""`opsbot doctor` for Slack: does the bot token work?"""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

from bot.chat.base import Check
from bot.chat.slack.client import web_client
from bot.chat.slack.errors import hint
from bot.chat.slack.settings import SlackSettings
from bot.core.i18n import Translator


def check_slack(settings: SlackSettings, t: Translator) -> Check:
    """Whether the bot token works (`auth.test`), for `opsbot doctor`."""
    try:
        result = web_client(settings).auth_test()
    except SlackApiError as error:
        code = str(error.response.get("error", "") or error)
        advice = hint(code)
        reason = f"{code} — {advice}" if advice else code
        return Check(False, t("doctor.slack.refused", reason=reason))
    except OSError as error:
        return Check(False, t("doctor.unreachable", platform="slack", url=settings.api_url,
                              reason=str(error)))  # fmt: skip
    return Check(True, t("doctor.slack.ok", team=str(result.get("team", "?")),
                         user=str(result.get("user", "?")), mode=settings.mode))  # fmt: skip
