"""`opsbot doctor` for WeCom: do the corp id and secret get an access token?"""

from __future__ import annotations

import httpx

from bot.chat.base import Check
from bot.chat.wecom.client import WecomClient, WecomError
from bot.chat.wecom.errors import hint
from bot.chat.wecom.settings import WecomSettings
from bot.core.clock import SystemClock


def check_wecom(settings: WecomSettings) -> Check:
    try:
        WecomClient(settings, SystemClock()).access_token()
    except WecomError as error:
        advice = hint(error.code)
        what = f"the corp id and secret were refused ({error})" + (f" — {advice}" if advice else "")
        return Check(False, f"platforms.wecom: {what}")
    except httpx.HTTPError as error:
        return Check(False, f"platforms.wecom: {settings.base_url} cannot be reached ({error})")
    agent = f"agent {settings.agent_id}"
    return Check(True, f"platforms.wecom: corp {settings.corp_id} gets an access token ({agent})")
