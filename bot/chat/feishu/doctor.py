"""`opsbot doctor` for Feishu: do the app id and secret get a tenant token?"""

from __future__ import annotations

import httpx

from bot.chat.base import Check
from bot.chat.feishu.client import FeishuClient, FeishuError
from bot.chat.feishu.errors import hint
from bot.chat.feishu.settings import FeishuSettings
from bot.core.clock import SystemClock


def check_feishu(settings: FeishuSettings) -> Check:
    """Whether the app id and secret get a tenant token, for `opsbot doctor`."""
    try:
        FeishuClient(settings, SystemClock()).tenant_token()
    except FeishuError as error:
        advice = hint(error.code)
        what = f"the app credentials were refused ({error})" + (f" — {advice}" if advice else "")
        return Check(False, f"platforms.feishu: {what}")
    except httpx.HTTPError as error:
        return Check(False, f"platforms.feishu: {settings.base_url} cannot be reached ({error})")
    works = f"app {settings.app_id} gets a tenant token (mode {settings.mode})"
    return Check(True, f"platforms.feishu: {works}")
