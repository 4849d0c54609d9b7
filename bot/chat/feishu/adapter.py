"""Feishu (Lark): encrypted event callbacks or the long connection in, cards out.

Incoming, in HTTP mode (`POST /feishu/events`): the body is decrypted when an Encrypt
Key is set (AES-256-CBC, key = SHA-256 of the Encrypt Key, IV = the first 16 bytes),
`X-Lark-Signature` is checked (SHA-256 of timestamp + nonce + Encrypt Key + raw body),
and the Verification Token is checked on every event; any failure is a 401 and changes
nothing. URL verification is answered with its challenge, encrypted or not. A retried
event (same `header.event_id`) is processed once. Messages are answered at once (200)
and handled after, so Feishu never waits; a card button is handled while Feishu waits,
because the answer carries the updated card.

In websocket mode the official `lark-oapi` SDK holds the long connection (长连接) and
hands over the same events, which take the same path.

Outgoing: `tenant_access_token` is cached until shortly before it expires and fetched
again when Feishu says it expired; `im/v1/messages` is called with a `uuid` so that an
outbox retry never doubles a message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.chat.feishu.render import render_card, render_message
from bot.core.clock import Clock, SystemClock
from bot.core.config import FeishuSettings, TeamSettings
from bot.core.messages import Command, Reply, Tone
from bot.runtime.app import OpsBot
from bot.runtime.delivery import DeliveryError, OutgoingMessage
from storage import members as member_store
from storage.db import transaction
from storage.inbound import first_delivery

log = logging.getLogger(__name__)

TOKEN_EXPIRED_CODES = {99991661, 99991663, 99991668}
RATE_LIMIT_CODES = {99991400, 11232, 230020}
TOKEN_MARGIN = timedelta(minutes=5)
PER_CHAT_INTERVAL_SECONDS = 0.2
MENTION_KEY = re.compile(r"@_user_\d+")


class CallbackRejected(Exception):
    """A callback that fails decryption, signature or token checks (HTTP 401)."""


class FeishuError(Exception):
    def __init__(
        self, code: int, message: str, *, status: int = 200, retry_after: float | None = None
    ) -> None:
        super().__init__(f"feishu {code}: {message}")
        self.code, self.status, self.retry_after = code, status, retry_after


def decrypt(encrypted: str, encrypt_key: str) -> str:
    """Feishu's envelope: base64(IV + AES-256-CBC(PKCS#7(text))), key = SHA-256(Encrypt Key)."""
    try:
        raw = base64.b64decode(encrypted)
        key = hashlib.sha256(encrypt_key.encode()).digest()
        decryptor = Cipher(algorithms.AES(key), modes.CBC(raw[:16])).decryptor()
        padded = decryptor.update(raw[16:]) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return (unpadder.update(padded) + unpadder.finalize()).decode()
    except (ValueError, UnicodeDecodeError) as error:
        raise CallbackRejected(f"cannot decrypt: {error}") from None


def encrypt(plaintext: str, encrypt_key: str, iv: bytes) -> str:
    """The inverse of `decrypt` (what Feishu does; the tests build callbacks with it)."""
    key = hashlib.sha256(encrypt_key.encode()).digest()
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext.encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return base64.b64encode(iv + encryptor.update(padded) + encryptor.finalize()).decode()


def signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    return hashlib.sha256(
        timestamp.encode() + nonce.encode() + encrypt_key.encode() + body
    ).hexdigest()


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
            data = response.json()
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
    def _message_body(reply: Reply, uuid: str) -> dict[str, Any]:
        msg_type, content = render_message(reply)
        return {
            "msg_type": msg_type,
            "content": json.dumps(content, ensure_ascii=False),
            "uuid": uuid,
        }

    def send(self, receive_id_type: str, receive_id: str, reply: Reply, uuid: str) -> None:
        body = {"receive_id": receive_id, **self._message_body(reply, uuid)}
        params = {"receive_id_type": receive_id_type}
        self.call("POST", "/open-apis/im/v1/messages", params=params, json=body)

    def reply_to(self, message_id: str, reply: Reply, uuid: str) -> None:
        path = f"/open-apis/im/v1/messages/{message_id}/reply"
        self.call("POST", path, json=self._message_body(reply, uuid))

    def user_name(self, open_id: str) -> str | None:
        try:
            data = self.call(
                "GET", f"/open-apis/contact/v3/users/{open_id}", params={"user_id_type": "open_id"}
            )
        except (FeishuError, httpx.HTTPError):
            return None
        return (data.get("user") or {}).get("name")


class FeishuAdapter:
    def __init__(self, bot: OpsBot, settings: FeishuSettings) -> None:
        self.bot = bot
        self.settings = settings
        self.client = FeishuClient(settings, bot.clock)
        self.workers = ThreadPoolExecutor(max_workers=8, thread_name_prefix="feishu-event")

    # -- the HTTP callback ---------------------------------------------------------------

    def handle_http(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        """Answer one callback: (HTTP status, JSON body)."""
        try:
            payload = self._open(headers, body)
        except CallbackRejected as rejected:
            log.warning("feishu callback rejected: %s", rejected)
            return 401, {"error": "unauthorized"}
        if payload.get("type") == "url_verification":
            return 200, {"challenge": payload.get("challenge")}
        return 200, self.handle_event(payload)

    def _open(self, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            raise CallbackRejected("not JSON") from None
        key = self.settings.encrypt_key
        if "encrypt" in payload:
            if not key:
                raise CallbackRejected("an encrypted body but no encrypt_key configured")
            timestamp = headers.get("x-lark-request-timestamp")
            if timestamp is not None or payload.keys() != {"encrypt"}:
                expected = signature(
                    timestamp or "", headers.get("x-lark-request-nonce", ""), key, body
                )
                if not hmac.compare_digest(expected, headers.get("x-lark-signature", "")):
                    raise CallbackRejected("bad signature")
            try:
                payload = json.loads(decrypt(payload["encrypt"], key))
            except ValueError:
                raise CallbackRejected("decrypted body is not JSON") from None
        elif key and payload.get("type") != "url_verification":
            raise CallbackRejected("plain body although an encrypt_key is configured")
        token = payload.get("token") or (payload.get("header") or {}).get("token")
        if self.settings.verification_token and token != self.settings.verification_token:
            raise CallbackRejected("wrong verification token")
        return payload

    # -- events (from HTTP or the long connection) ---------------------------------------

    def handle_event(self, payload: dict[str, Any]) -> dict[str, Any]:
        header = payload.get("header") or {}
        event_type = header.get("event_type")
        event_id = header.get("event_id")
        if event_id:
            with transaction(self.bot.engine) as session:
                if not first_delivery(
                    session, platform="feishu", event_id=event_id, now=self.bot.clock.now()
                ):
                    log.info("feishu event %s already handled", event_id)
                    return {}
        event = payload.get("event") or {}
        if event_type == "im.message.receive_v1":
            self.workers.submit(self._on_message, event)
            return {}
        if event_type == "card.action.trigger":
            return self._on_card_action(event)
        return {}

    def team_for(self, chat_id: str | None) -> TeamSettings:
        for team in self.bot.settings.teams:
            if chat_id and team.channels.get("feishu") == chat_id:
                return team
        return self.bot.settings.team()

    def _command_text(self, team: TeamSettings, text: str, mentions: list[dict[str, Any]]) -> str:
        """Strip the bot's mention key; turn colleagues' mention keys into `@member`."""
        names = {}
        for mention in mentions:
            open_id = (mention.get("id") or {}).get("open_id")
            member = None
            if open_id:
                with transaction(self.bot.engine) as session:
                    member = member_store.find_member_by_platform_id(
                        session, team_id=team.id, platform="feishu", platform_user_id=open_id
                    )
            names[mention.get("key")] = (
                f"@{member.id}"
                if member
                else (f"@{mention.get('name')}" if mention.get("name") else "")
            )
        text = MENTION_KEY.sub(lambda match: names.get(match.group(0), ""), text)
        text = re.sub(
            r"^(\s*@[^\s/]+\s*)+(?=[/／])", "", text.strip()
        )  # a leading @bot before the command
        return text.strip()

    def _on_message(self, event: dict[str, Any]) -> None:
        try:
            message = event.get("message") or {}
            if message.get("message_type") != "text":
                return
            text = json.loads(message.get("content") or "{}").get("text", "")
            team = self.team_for(message.get("chat_id"))
            text = self._command_text(team, text, message.get("mentions") or [])
            in_group = message.get("chat_type") == "group"
            if in_group and not text.startswith(("/", "／")):
                return  # in a group the bot answers commands only
            open_id = ((event.get("sender") or {}).get("sender_id") or {}).get("open_id", "")
            reply = self.bot.handle(
                Command(text=text, team_id=team.id, user_id=open_id, platform="feishu",
                        user_name=self._name(team, open_id), channel_id=message.get("chat_id"))
            )  # fmt: skip
            self.client.reply_to(
                message["message_id"], reply, uuid=_uuid(f"reply:{message['message_id']}")
            )
        except Exception:
            log.exception("feishu message could not be answered")

    def _name(self, team: TeamSettings, open_id: str) -> str | None:
        with transaction(self.bot.engine) as session:
            known = member_store.find_member_by_platform_id(
                session, team_id=team.id, platform="feishu", platform_user_id=open_id
            )
        return None if known else self.client.user_name(open_id)

    def _on_card_action(self, event: dict[str, Any]) -> dict[str, Any]:
        """A button runs the command it carries; the answer updates the card."""
        command = ((event.get("action") or {}).get("value") or {}).get("command")
        open_id = (event.get("operator") or {}).get("open_id", "")
        chat_id = (event.get("context") or {}).get("open_chat_id")
        if not command:
            return {}
        team = self.team_for(chat_id)
        reply = self.bot.handle(
            Command(
                text=command,
                team_id=team.id,
                user_id=open_id,
                platform="feishu",
                channel_id=chat_id,
            )
        )
        toast = {
            "type": "error" if reply.tone is Tone.ERROR else "success",
            "content": reply.title[:100],
        }
        if reply.tone is Tone.ERROR:
            return {"toast": toast}
        return {"toast": toast, "card": {"type": "raw", "data": render_card(reply)}}

    # -- the long connection --------------------------------------------------------------

    def event_handler(self) -> Any:
        """The SDK's dispatcher, handing long-connection events to `handle_event`."""
        import lark_oapi as lark
        from lark_oapi.event.callback.model.p2_card_action_trigger import (
            P2CardActionTriggerResponse,
        )

        def on_message(data: Any) -> None:
            self.handle_event(json.loads(lark.JSON.marshal(data)))

        def on_card(data: Any) -> Any:
            answer = self.handle_event(json.loads(lark.JSON.marshal(data)))
            return P2CardActionTriggerResponse(answer)

        builder = lark.EventDispatcherHandler.builder(
            self.settings.encrypt_key or "", self.settings.verification_token or ""
        )
        return (
            builder.register_p2_im_message_receive_v1(on_message)
            .register_p2_card_action_trigger(on_card)
            .build()
        )

    def start_websocket(self) -> None:
        """Receive events over Feishu's long connection (blocks); same handling as HTTP."""
        import lark_oapi as lark

        client = lark.ws.Client(
            self.settings.app_id, self.settings.app_secret,
            event_handler=self.event_handler(), domain=self.settings.base_url,
        )  # fmt: skip
        client.start()


def _uuid(key: str) -> str:
    """Feishu's idempotency field is at most 50 characters."""
    return hashlib.sha256(key.encode()).hexdigest()[:40]


class FeishuSender:
    """Team posts to the team's group (chat_id), reminders to the person (open_id).

    Feishu allows 5 messages a second per chat; posts to one chat are paced to that.
    """

    def __init__(self, bot: OpsBot, client: FeishuClient) -> None:
        self.bot = bot
        self.client = client
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def _pace(self, receive_id: str) -> None:
        with self._lock:
            wait = self._last.get(receive_id, 0.0) + PER_CHAT_INTERVAL_SECONDS - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._last[receive_id] = time.monotonic()

    def send(self, message: OutgoingMessage) -> None:
        team = self.bot.settings.team(message.team_id)
        if message.target == "team":
            receive_type, receive_id = "chat_id", team.channels.get("feishu")
            if not receive_id:
                raise DeliveryError(f"teams.{team.id}.channels.feishu is not set", retryable=False)
        else:
            member_id = message.target.removeprefix("member:")
            with transaction(self.bot.engine) as session:
                member = member_store.get_member(session, team_id=team.id, member_id=member_id)
            if member is None or not member.feishu:
                raise DeliveryError(f"member {member_id} has no Feishu open_id", retryable=False)
            receive_type, receive_id = "open_id", member.feishu
        try:
            self.client.send(
                receive_type, receive_id, message.reply, uuid=_uuid(message.idempotency_key)
            )
        except FeishuError as error:
            limited = error.status == 429 or error.code in RATE_LIMIT_CODES
            retryable = limited or error.status >= 500
            raise DeliveryError(
                str(error), retryable=retryable, retry_after=error.retry_after if limited else None
            ) from error
        except httpx.HTTPError as error:
            raise DeliveryError(f"feishu: {error}") from error


def check_feishu(settings: FeishuSettings) -> tuple[bool, str]:
    """Whether the app id and secret get a tenant token, for `opsbot doctor`."""
    try:
        FeishuClient(settings, SystemClock()).tenant_token()
    except FeishuError as error:
        return False, f"platforms.feishu: the app credentials were refused ({error})"
    except httpx.HTTPError as error:
        return False, f"platforms.feishu: {settings.base_url} cannot be reached ({error})"
    return (
        True,
        f"platforms.feishu: app {settings.app_id} gets a tenant token (mode {settings.mode})",
    )
