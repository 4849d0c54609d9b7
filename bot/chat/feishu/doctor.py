"""`opsbot doctor` for Feishu: do the app id and secret get a tenant token?"""

from __future__ import annotations

import httpx

from bot.chat.base import Check
from bot.chat.feishu.client import FeishuClient, FeishuError
from bot.chat.feishu.errors import hint
from bot.chat.feishu.settings import FeishuSettings
from bot.core.clock import SystemClock
from bot.core.i18n import Translator


def check_feishu(settings: FeishuSettings, t: Translator) -> Check:
    """Whether the app id and secret get a tenant token, for `opsbot doctor`."""
    try:
        FeishuClient(settings, SystemClock()).tenant_token()
    except FeishuError as error:
        advice = hint(error.code)
        reason = f"{error} — {advice}" if advice else str(error)
        return Check(False, t("doctor.feishu.refused", reason=reason))
    except httpx.HTTPError as error:
        return Check(False, t("doctor.unreachable", platform="feishu", url=settings.base_url,
                              reason=str(error)))  # fmt: skip
    return Check(True, t("doctor.feishu.ok", app=settings.app_id, mode=settings.mode))
