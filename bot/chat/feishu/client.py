"""The Feishu Open API over httpx, with the tenant token cached and refreshed.

Besides messages (`im/v1/messages`, with a `uuid` Feishu keeps for an hour so a request
sent again never makes a second message), it uploads pictures (上传图片,
`POST /open-apis/im/v1/images`: multipart `image_type=message` and `image`, at most
10 MB, answering `data.image_key`) and updates a clicked card later (延时更新消息卡片,
`POST /open-apis/interactive/v1/card/update` with the callback's `token` and the new
`card`: the token lasts 30 minutes and serves twice, and the call must come after the
callback was answered). Feishu's documentation points card callbacks to that endpoint;
`PATCH im/v1/messages/{id}` is for updating a card unprompted.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from typing import Any

import httpx

from bot.chat.feishu.render import Card, render_message
from bot.chat.feishu.settings import FeishuSettings
from bot.core.clock import Clock
from bot.core.messages import Image, Reply

TOKEN_EXPIRED_CODES = {99991661, 99991663, 99991668}
TOKEN_MARGIN = timedelta(minutes=5)


class FeishuError(Exception):
    def __init__(
        self, code: int, message: str, *, status: int = 200, retry_after: float | None = None
    ) -> None:
        super().__init__(f"feishu {code}: {message}")
        self.code, self.status, self.retry_after = code, status, retry_after


class FeishuClient:
    """The Open API over httpx, with the tenant token cached and refreshed."""

    def __init__(self, settings: FeishuSettings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.http = httpx.Client(base_url=settings.base_url.rstrip("/"), timeout=10)
        self._token: tuple[str, datetime] | None = None
        self._lock = threading.Lock()

    def tenant_token(self, *, refresh: bool = False) -> str:
        with self._lock:
            now = self.clock.now()
            if not refresh and self._token and now < self._token[1]:
                return self._token[0]
            response = self.http.post(
                "/open-apis/auth/v3/tenant_access_token/internal",
                json={"app_id": self.settings.app_id, "app_secret": self.settings.app_secret},
            )
            try:
                data = response.json()
            except ValueError:
                raise FeishuError(
                    -1, f"HTTP {response.status_code}", status=response.status_code
                ) from None
            if data.get("code") != 0:
                raise FeishuError(
                    int(data.get("code", -1)), str(data.get("msg")), status=response.status_code
                )
            lifetime = timedelta(seconds=int(data.get("expire", 7200)))
            self._token = (data["tenant_access_token"], now + lifetime - TOKEN_MARGIN)
            return self._token[0]

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One API call; an expired token is fetched again and the call made once more."""
        for attempt in (1, 2):
            token = self.tenant_token(refresh=attempt == 2)
            response = self.http.request(
                method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs
            )
            try:
                data = response.json()
            except ValueError:
                raise FeishuError(
                    -1, f"HTTP {response.status_code}", status=response.status_code
                ) from None
            code = int(data.get("code", -1))
            if code == 0:
                return data.get("data") or {}
            if code in TOKEN_EXPIRED_CODES and attempt == 1:
                continue
            retry_after = response.headers.get("x-ogw-ratelimit-reset")
            raise FeishuError(
                code, str(data.get("msg")), status=response.status_code,
                retry_after=float(retry_after) if retry_after else None,
            )  # fmt: skip
        raise AssertionError("unreachable")

    @staticmethod
    def _message_body(reply: Reply, uuid: str, image_key: str | None) -> dict[str, Any]:
        msg_type, content = render_message(reply, image_key=image_key)
        return {
            "msg_type": msg_type,
            "content": json.dumps(content, ensure_ascii=False),
            "uuid": uuid,
        }

    def send(
        self, receive_id_type: str, receive_id: str, reply: Reply, uuid: str,
        *, image_key: str | None = None,
    ) -> None:  # fmt: skip
        """Post a reply as a new message (the card shows the picture `image_key`)."""
        body = {"receive_id": receive_id, **self._message_body(reply, uuid, image_key)}
        params = {"receive_id_type": receive_id_type}
        self.call("POST", "/open-apis/im/v1/messages", params=params, json=body)

    def reply_to(
        self, message_id: str, reply: Reply, uuid: str, *, image_key: str | None = None
    ) -> None:
        """Answer a message in its chat (quoting it)."""
        path = f"/open-apis/im/v1/messages/{message_id}/reply"
        self.call("POST", path, json=self._message_body(reply, uuid, image_key))

    def upload_image(self, image: Image) -> str:
        """Upload a picture for messages; its `image_key` is what a card's `img` shows."""
        data = self.call(
            "POST", "/open-apis/im/v1/images", data={"image_type": "message"},
            files={"image": (image.filename, image.png, "image/png")},
        )  # fmt: skip
        key = data.get("image_key")
        if not isinstance(key, str) or not key:
            raise FeishuError(-1, "the upload was answered without an image_key")
        return key

    def update_card(self, token: str, card: Card) -> None:
        """Replace a clicked card after the callback was answered (延时更新消息卡片)."""
        body = {"token": token, "card": card}
        self.call("POST", "/open-apis/interactive/v1/card/update", json=body)

    def user_name(self, open_id: str) -> str | None:
        try:
            data = self.call(
                "GET", f"/open-apis/contact/v3/users/{open_id}", params={"user_id_type": "open_id"}
            )
        except (FeishuError, httpx.HTTPError):
            return None
        return (data.get("user") or {}).get("name")
