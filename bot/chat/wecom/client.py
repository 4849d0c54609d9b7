"""The WeCom API over httpx: the access token, app messages and the group robot."""

from __future__ import annotations

import base64
import hashlib
import threading
from datetime import datetime, timedelta
from typing import Any

import httpx

from bot.chat.wecom.errors import SYSTEM_BUSY
from bot.chat.wecom.render import (
    APP_MARKDOWN_BYTES,
    ROBOT_MARKDOWN_BYTES,
    render_markdown,
    render_template_card,
    split_by_bytes,
)
from bot.chat.wecom.settings import WecomSettings
from bot.core.clock import Clock
from bot.core.messages import Image, Reply

TOKEN_EXPIRED = {40014, 42001}
TOKEN_MARGIN = timedelta(minutes=5)
NO_ROBOT_KEY = -2  # ours, not WeCom's: the config names no robot
ROBOT_IMAGE_BYTES = 2 * 1024 * 1024  # the robot takes a JPG or PNG of at most 2 MB (raw)


DUPLICATE_CHECK_SECONDS = 4 * 60 * 60


class WecomError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"wecom {code}: {message}")
        self.code = code
        self.errmsg = message


def _answer(response: httpx.Response) -> dict[str, Any]:
    """WeCom's JSON answer; a page that is not JSON (a 502 from a proxy, an HTML error)
    is WeCom's "system busy", so that it is retried like one."""
    try:
        data = response.json()
    except ValueError:
        raise WecomError(SYSTEM_BUSY, f"HTTP {response.status_code}, not JSON") from None
    if not isinstance(data, dict):
        raise WecomError(SYSTEM_BUSY, f"HTTP {response.status_code}, not a JSON object")
    return data


class WecomClient:
    def __init__(self, settings: WecomSettings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.http = httpx.Client(base_url=settings.base_url.rstrip("/"), timeout=10)
        self._token: tuple[str, datetime] | None = None
        self._lock = threading.Lock()

    def access_token(self, *, refresh: bool = False) -> str:
        with self._lock:
            now = self.clock.now()
            if not refresh and self._token and now < self._token[1]:
                return self._token[0]
            data = _answer(
                self.http.get(
                    "/cgi-bin/gettoken",
                    params={"corpid": self.settings.corp_id, "corpsecret": self.settings.secret},
                )
            )
            if data.get("errcode", 0) != 0:
                raise WecomError(int(data["errcode"]), str(data.get("errmsg")))
            self._token = (
                data["access_token"],
                now + timedelta(seconds=int(data.get("expires_in", 7200))) - TOKEN_MARGIN,
            )
            return self._token[0]

    def send_app_message(self, body: dict[str, Any]) -> None:
        """message/send, fetching the token again once if WeCom says it expired."""
        payload = {
            "agentid": int(self.settings.agent_id),
            # WeCom drops the same request again within the interval: a message re-sent
            # after a crash (or a lost answer) is not shown twice. Four hours, WeCom's
            # longest, outlasts the claim plus every retry's backoff.
            "enable_duplicate_check": 1,
            "duplicate_check_interval": DUPLICATE_CHECK_SECONDS,
            **body,
        }
        for attempt in (1, 2):
            token = self.access_token(refresh=attempt == 2)
            data = _answer(
                self.http.post(
                    "/cgi-bin/message/send", params={"access_token": token}, json=payload
                )
            )
            code = int(data.get("errcode", 0))
            if code == 0:
                return
            if code in TOKEN_EXPIRED and attempt == 1:
                continue
            raise WecomError(code, str(data.get("errmsg")))

    def app_details(self) -> dict[str, Any]:
        """agent/get: the app's name and visible range. It changes nothing, and like
        every call but gettoken it is refused (60020) from an IP the app does not trust,
        which is what `opsbot doctor` asks it for."""
        for attempt in (1, 2):
            token = self.access_token(refresh=attempt == 2)
            params = {"access_token": token, "agentid": str(self.settings.agent_id)}
            data = _answer(self.http.get("/cgi-bin/agent/get", params=params))
            code = int(data.get("errcode", 0))
            if code == 0:
                return data
            if code in TOKEN_EXPIRED and attempt == 1:
                continue
            raise WecomError(code, str(data.get("errmsg")))
        raise AssertionError("unreachable")

    @staticmethod
    def app_messages(touser: str, reply: Reply, task_id: str) -> list[dict[str, Any]]:
        """The reply as app messages: a button card, or markdown split under the limit."""
        if reply.buttons:
            card = render_template_card(reply, task_id)
            return [{"touser": touser, "msgtype": "template_card", "template_card": card}]
        return [
            {"touser": touser, "msgtype": "markdown", "markdown": {"content": chunk}}
            for chunk in split_by_bytes(render_markdown(reply), APP_MARKDOWN_BYTES)
        ]

    def send_reply(self, touser: str, reply: Reply, task_id: str) -> None:
        for body in self.app_messages(touser, reply, task_id):
            self.send_app_message(body)

    @staticmethod
    def robot_messages(reply: Reply) -> list[dict[str, Any]]:
        """The reply as group robot posts: markdown split under the robot's limit."""
        return [
            {"msgtype": "markdown", "markdown": {"content": chunk}}
            for chunk in split_by_bytes(render_markdown(reply), ROBOT_MARKDOWN_BYTES)
        ]

    @staticmethod
    def robot_image(image: Image, *, limit: int = ROBOT_IMAGE_BYTES) -> dict[str, Any] | None:
        """The picture as a robot `image` post (base64 and the hex md5 of the raw bytes),
        or None when it is over the robot's 2 MB (`limit`): WeCom would refuse it anyway."""
        png = image.png
        if len(png) > limit:
            return None
        return {
            "msgtype": "image",
            "image": {
                "base64": base64.b64encode(png).decode("ascii"),  # one line, as WeCom wants
                "md5": hashlib.md5(png, usedforsecurity=False).hexdigest(),
            },
        }

    def send_robot_message(self, body: dict[str, Any]) -> None:
        key = self.settings.robot_webhook_key
        if not key:
            raise WecomError(NO_ROBOT_KEY, "platforms.wecom.robot_webhook_key is not set")
        data = _answer(self.http.post("/cgi-bin/webhook/send", params={"key": key}, json=body))
        if int(data.get("errcode", 0)) != 0:
            raise WecomError(int(data["errcode"]), str(data.get("errmsg")))
