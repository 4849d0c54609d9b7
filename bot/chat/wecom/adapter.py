"""WeCom (企业微信): encrypted app callbacks in, app messages and the group robot out.

WeCom has no slash commands: people type commands as messages to the bot's app. The
callback (`/wecom/callback`) follows Tencent's WXBizMsgCrypt scheme: the signature is the
SHA-1 of the sorted token, timestamp, nonce and encrypted text; the text is AES-256-CBC
with the key from the EncodingAESKey (IV = the key's first 16 bytes), PKCS#7 padded to
32-byte blocks, and holds 16 random bytes, a 4-byte length, the message and the corp id,
which must be ours. Any failure is a 401 and changes nothing. The callback is answered
at once (WeCom retries what is not answered within 5 seconds) and the command is handled
after; a retry is recognised by its MsgId (or sender and time, for events).

Sending: the access token from `gettoken` is cached until shortly before it expires and
fetched again on errcode 40014/42001; `message/send` is called with
`enable_duplicate_check`. Team posts go to the group robot (markdown, split under its
4,096 bytes) when `channels.wecom` is `robot`; its 20-messages-a-minute limit (errcode
45009) is retried by the outbox.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import struct
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any
from xml.etree.ElementTree import Element

import httpx
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml.ElementTree import ParseError, fromstring

from bot.chat.wecom.render import (
    APP_MARKDOWN_BYTES,
    ROBOT_MARKDOWN_BYTES,
    render_markdown,
    render_template_card,
    split_by_bytes,
)
from bot.core.clock import Clock, SystemClock
from bot.core.config import TeamSettings, WecomSettings
from bot.core.messages import Command, Reply
from bot.runtime.app import OpsBot
from bot.runtime.delivery import DeliveryError, OutgoingMessage
from storage import members as member_store
from storage.db import transaction
from storage.inbound import first_delivery

log = logging.getLogger(__name__)

BLOCK = 32
TOKEN_EXPIRED = {40014, 42001}
SYSTEM_BUSY = -1
RATE_LIMITED = {45009, 45033}
RATE_LIMIT_WAIT_SECONDS = 60.0
TOKEN_MARGIN = timedelta(minutes=5)
MENU_COMMANDS = {
    "digest": "/digest",
    "my_tasks": "/task list",
    "summary": "/summary",
    "publish_today": "/publish today",
}


class CallbackRejected(Exception):
    pass


class WecomError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"wecom {code}: {message}")
        self.code = code


class WecomCrypto:
    """WXBizMsgCrypt: signatures and the AES envelope."""

    def __init__(self, token: str, encoding_aes_key: str, corp_id: str) -> None:
        self.token = token
        self.key = base64.b64decode(encoding_aes_key + "=")
        if len(self.key) != 32:
            raise ValueError("encoding_aes_key must be the 43 characters WeCom shows")
        self.corp_id = corp_id

    def signature(self, timestamp: str, nonce: str, encrypted: str) -> str:
        return hashlib.sha1(
            "".join(sorted([self.token, timestamp, nonce, encrypted])).encode()
        ).hexdigest()

    def check(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        if not hmac.compare_digest(
            self.signature(timestamp, nonce, encrypted), msg_signature or ""
        ):
            raise CallbackRejected("bad signature")

    def decrypt(self, encrypted: str) -> str:
        try:
            raw = base64.b64decode(encrypted)
            decryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).decryptor()
            padded = decryptor.update(raw) + decryptor.finalize()
            pad = padded[-1]
            if not 1 <= pad <= BLOCK:
                raise ValueError("bad padding")
            plain = padded[:-pad]
            (length,) = struct.unpack(">I", plain[16:20])
            message, receive_id = plain[20 : 20 + length], plain[20 + length :]
        except (ValueError, struct.error, IndexError) as error:
            raise CallbackRejected(f"cannot decrypt: {error}") from None
        if receive_id.decode(errors="replace") != self.corp_id:
            raise CallbackRejected("the message is for another corp id")
        return message.decode()

    def encrypt(self, message: str, *, random_bytes: bytes | None = None) -> str:
        body = (
            (random_bytes or os.urandom(16))
            + struct.pack(">I", len(message.encode()))
            + message.encode()
            + self.corp_id.encode()
        )
        pad = BLOCK - len(body) % BLOCK
        body += bytes([pad]) * pad
        encryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).encryptor()
        return base64.b64encode(encryptor.update(body) + encryptor.finalize()).decode()


def _xml(text: str | bytes) -> Element:
    try:
        return fromstring(text)
    except (ParseError, ValueError) as error:
        raise CallbackRejected(f"not XML: {error}") from None


def _field(root: Element, name: str) -> str:
    node = root.find(name)
    return (node.text or "").strip() if node is not None else ""


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
            data = self.http.get(
                "/cgi-bin/gettoken",
                params={"corpid": self.settings.corp_id, "corpsecret": self.settings.secret},
            ).json()
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
            "enable_duplicate_check": 1,
            "duplicate_check_interval": 1800,
            **body,
        }
        for attempt in (1, 2):
            token = self.access_token(refresh=attempt == 2)
            data = self.http.post(
                "/cgi-bin/message/send", params={"access_token": token}, json=payload
            ).json()
            code = int(data.get("errcode", 0))
            if code == 0:
                return
            if code in TOKEN_EXPIRED and attempt == 1:
                continue
            raise WecomError(code, str(data.get("errmsg")))

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

    def send_robot_message(self, body: dict[str, Any]) -> None:
        key = self.settings.robot_webhook_key
        if not key:
            raise DeliveryError("platforms.wecom.robot_webhook_key is not set", retryable=False)
        data = self.http.post("/cgi-bin/webhook/send", params={"key": key}, json=body).json()
        if int(data.get("errcode", 0)) != 0:
            raise WecomError(int(data["errcode"]), str(data.get("errmsg")))


class WecomAdapter:
    def __init__(self, bot: OpsBot, settings: WecomSettings) -> None:
        self.bot = bot
        self.settings = settings
        self.crypto = WecomCrypto(settings.token, settings.encoding_aes_key, settings.corp_id)
        self.client = WecomClient(settings, bot.clock)
        self.workers = ThreadPoolExecutor(max_workers=8, thread_name_prefix="wecom-callback")

    def verify_url(self, params: dict[str, str]) -> tuple[int, str]:
        """GET: check the signature over `echostr`, answer it decrypted."""
        try:
            echo = params.get("echostr", "")
            self.crypto.check(
                params.get("msg_signature", ""),
                params.get("timestamp", ""),
                params.get("nonce", ""),
                echo,
            )
            return 200, self.crypto.decrypt(echo)
        except CallbackRejected as rejected:
            log.warning("wecom URL verification rejected: %s", rejected)
            return 401, "unauthorized"

    def handle_callback(self, params: dict[str, str], body: bytes) -> tuple[int, str]:
        """POST: check, decrypt, answer at once, handle the message after."""
        try:
            encrypted = _field(_xml(body), "Encrypt")
            self.crypto.check(
                params.get("msg_signature", ""),
                params.get("timestamp", ""),
                params.get("nonce", ""),
                encrypted,
            )
            message = _xml(self.crypto.decrypt(encrypted))
        except CallbackRejected as rejected:
            log.warning("wecom callback rejected: %s", rejected)
            return 401, "unauthorized"
        sender = _field(message, "FromUserName")
        fields = ("CreateTime", "Event", "EventKey")
        key = _field(message, "MsgId") or ":".join([sender, *(_field(message, f) for f in fields)])
        with transaction(self.bot.engine) as session:
            if not first_delivery(
                session, platform="wecom", event_id=key, now=self.bot.clock.now()
            ):
                return 200, ""
        self.workers.submit(self._on_message, message)
        return 200, ""

    def _command_text(self, message: Element) -> str | None:
        kind = _field(message, "MsgType")
        if kind == "text":
            return _field(message, "Content")
        if kind == "event":
            event, event_key = _field(message, "Event"), _field(message, "EventKey")
            if event == "template_card_event":
                return event_key  # the button's key is the command it runs
            if event == "click":
                return MENU_COMMANDS.get(event_key)
        return None

    def team_for(self) -> TeamSettings:
        return self.bot.settings.team()

    def _on_message(self, message: Element) -> None:
        try:
            text = self._command_text(message)
            if not text:
                return
            team = self.team_for()
            sender = _field(message, "FromUserName")
            reply = self.bot.handle(
                Command(
                    text=text, team_id=team.id, user_id=sender, platform="wecom", user_name=sender
                )
            )
            seed = ":".join([sender, _field(message, "MsgId"), _field(message, "CreateTime"), text])
            task_id = hashlib.sha256(seed.encode()).hexdigest()[:32]
            self.client.send_reply(sender, reply, task_id)
        except Exception:
            log.exception("wecom message could not be answered")


class WecomSender:
    """Team posts to the group robot (or to `channels.wecom` users), reminders to the person."""

    def __init__(self, bot: OpsBot, client: WecomClient) -> None:
        self.bot = bot
        self.client = client

    def send(self, message: OutgoingMessage) -> None:
        team = self.bot.settings.team(message.team_id)
        try:
            if message.target == "team":
                channel = team.channels.get("wecom", "robot")
                if channel == "robot":
                    posts = self.client.robot_messages(message.reply)
                    for number, body in message.undelivered(posts):
                        self.client.send_robot_message(body)
                        message.delivered(number)
                    return
                self._send_app(channel, message, message.idempotency_key[-32:])
                return
            member_id = message.target.removeprefix("member:")
            with transaction(self.bot.engine) as session:
                member = member_store.get_member(session, team_id=team.id, member_id=member_id)
            if member is None or not member.wecom:
                raise DeliveryError(f"member {member_id} has no WeCom userid", retryable=False)
            task_id = hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:32]
            self._send_app(member.wecom, message, task_id)
        except WecomError as error:
            if error.code in RATE_LIMITED:
                raise DeliveryError(str(error), retry_after=RATE_LIMIT_WAIT_SECONDS) from error
            raise DeliveryError(str(error), retryable=error.code == SYSTEM_BUSY) from error
        except httpx.HTTPError as error:
            raise DeliveryError(f"wecom: {error}") from error

    def _send_app(self, touser: str, message: OutgoingMessage, task_id: str) -> None:
        for number, body in message.undelivered(
            self.client.app_messages(touser, message.reply, task_id)
        ):
            self.client.send_app_message(body)
            message.delivered(number)


def check_wecom(settings: WecomSettings) -> tuple[bool, str]:
    try:
        WecomClient(settings, SystemClock()).access_token()
    except WecomError as error:
        return False, f"platforms.wecom: the corp id and secret were refused ({error})"
    except httpx.HTTPError as error:
        return False, f"platforms.wecom: {settings.base_url} cannot be reached ({error})"
    agent = f"agent {settings.agent_id}"
    return True, f"platforms.wecom: corp {settings.corp_id} gets an access token ({agent})"
