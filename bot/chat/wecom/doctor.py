"""`opsbot doctor` for WeCom: do the corp id and secret get an access token?"""

from __future__ import annotations

import httpx

from bot.chat.base import Check
from bot.chat.wecom.client import WecomClient, WecomError
from bot.chat.wecom.errors import hint
from bot.chat.wecom.settings import WecomSettings
from bot.core.clock import SystemClock
from bot.core.i18n import Translator


def check_wecom(settings: WecomSettings, t: Translator) -> Check:
    try:
        WecomClient(settings, SystemClock()).access_token()
    except WecomError as error:
        advice = hint(error.code)
        reason = f"{error} — {advice}" if advice else str(error)
        return Check(False, t("doctor.wecom.refused", reason=reason))
    except httpx.HTTPError as error:
        return Check(False, t("doctor.unreachable", platform="wecom", url=settings.base_url,
                              reason=str(error)))  # fmt: skip
    return Check(True, t("doctor.wecom.ok", corp=settings.corp_id, agent=str(settings.agent_id)))
