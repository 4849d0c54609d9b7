"""`opsbot doctor` for WeCom: in app mode, do the corp id and secret get an access token?
In robot mode, can the long connection's address be reached?

Robot mode does not subscribe: WeCom keeps one connection per robot, and a doctor's
subscription would replace the running `opsbot run`'s. The WebSocket handshake shows the
network and the address; the bot id and secret are checked by `opsbot run`, which logs
WeCom's refusal in words.
"""

from __future__ import annotations

import httpx

from bot.chat.base import Check
from bot.chat.wecom.client import WecomClient, WecomError
from bot.chat.wecom.errors import EXPLAINED, hint, refused_ip
from bot.chat.wecom.settings import WecomSettings
from bot.core.clock import SystemClock
from bot.core.i18n import Translator


def check_wecom(settings: WecomSettings, t: Translator) -> Check:
    if settings.mode == "robot":
        return check_robot(settings, t)
    try:
        client = WecomClient(settings, SystemClock())
        client.access_token()
        client.app_details()  # refused from an IP the app does not trust, as sends are
    except WecomError as error:
        return Check(False, t("doctor.wecom.refused", reason=explain(error, t)))
    except httpx.HTTPError as error:
        return Check(False, t("doctor.unreachable", platform="wecom", url=settings.base_url,
                              reason=str(error)))  # fmt: skip
    return Check(True, t("doctor.wecom.ok", corp=settings.corp_id, agent=str(settings.agent_id)))


def explain(error: WecomError, t: Translator) -> str:
    """A setup error in words (which setting, which page of the admin console); any other
    code as WeCom worded it, with the hint of `errors.PERMANENT` when there is one."""
    if error.code in EXPLAINED:
        ip = refused_ip(error.errmsg) if error.code == 60020 else None
        key = f"wecom.error.{error.code}" + ("_ip" if ip else "")
        return t(key, code=error.code, ip=ip or "")
    advice = hint(error.code)
    return f"{error} — {advice}" if advice else str(error)


def check_robot(settings: WecomSettings, t: Translator) -> Check:
    from websockets.exceptions import InvalidHandshake, InvalidURI
    from websockets.sync.client import connect

    try:
        connect(settings.ws_url, open_timeout=10, close_timeout=2).close()
    except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as error:
        return Check(False, t("doctor.unreachable", platform="wecom", url=settings.ws_url,
                              reason=str(error) or type(error).__name__))  # fmt: skip
    return Check(True, t("doctor.wecom.robot_ok", url=settings.ws_url, bot=settings.bot_id))
