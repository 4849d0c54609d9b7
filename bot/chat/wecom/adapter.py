"""WeCom (企业微信): encrypted app callbacks in, app messages and the group robot out.

WeCom has no slash commands: people type commands as messages to the bot's app. The
callback (`/wecom/callback`) follows Tencent's WXBizMsgCrypt scheme: the signature is the
SHA-1 of the sorted token, timestamp, nonce and encrypted text; the text is AES-256-CBC
with the key from the EncodingAESKey (IV = the key's first 16 bytes), PKCS#7 padded to
32-byte blocks, and holds 16 random bytes, a 4-byte length, the message and the corp id,
which must be ours. A callback that cannot be read (not XML) is a 400, any other failure
a 401, and neither changes anything. The callback is answered at once (WeCom retries what
is not answered within 5 seconds) and the command is handled after; a retry is
recognised by its MsgId (or sender and time, for events).

Sending: the access token from `gettoken` is cached until shortly before it expires and
fetched again on errcode 40014/42001; `message/send` is called with
`enable_duplicate_check`. Team posts go to the group robot (markdown, split under its
4,096 bytes) when `channels.wecom` is `robot`; its 20-messages-a-minute limit (errcode
45009) is retried by the outbox.
"""

from __future__ import annotations

import hashlib
import logging
from xml.etree.ElementTree import Element

from bot.chat.base import ChatServices
from bot.chat.wecom.client import WecomClient
from bot.chat.wecom.crypto import (
    CallbackRejected,
    MalformedCallback,
    WecomCrypto,
    parse_xml,
    xml_field,
)
from bot.chat.wecom.settings import WecomSettings
from bot.core.dispatch import Delivery
from bot.core.messages import Command

log = logging.getLogger(__name__)

PLATFORM = "wecom"
MENU_COMMANDS = {
    "digest": "/digest",
    "my_tasks": "/task list",
    "summary": "/summary",
    "publish_today": "/publish today",
}


class WecomAdapter:
    """App callbacks in; replies as app messages."""

    def __init__(
        self, services: ChatServices, settings: WecomSettings, client: WecomClient
    ) -> None:
        self.services = services
        self.settings = settings
        self.crypto = WecomCrypto(settings.token, settings.encoding_aes_key, settings.corp_id)
        self.client = client

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
        except MalformedCallback as malformed:
            log.warning("wecom URL verification malformed: %s", malformed)
            return 400, "malformed request"
        except CallbackRejected as rejected:
            log.warning("wecom URL verification rejected: %s", rejected)
            return 401, "unauthorized"

    def handle_callback(self, params: dict[str, str], body: bytes) -> tuple[int, str]:
        """POST: check, decrypt, answer at once, handle the message after."""
        try:
            encrypted = xml_field(parse_xml(body), "Encrypt")
            self.crypto.check(
                params.get("msg_signature", ""),
                params.get("timestamp", ""),
                params.get("nonce", ""),
                encrypted,
            )
            if not self.services.signed_recently(params.get("timestamp", "")):
                # Only the event's MsgId stopped a replay before; a captured callback
                # is now refused after five minutes, as Slack and Feishu refuse theirs.
                raise CallbackRejected("the timestamp is outside the five-minute window")
            message = parse_xml(self.crypto.decrypt(encrypted))
        except MalformedCallback as malformed:
            log.warning("wecom callback malformed: %s", malformed)
            return 400, "malformed request"
        except CallbackRejected as rejected:
            log.warning("wecom callback rejected: %s", rejected)
            return 401, "unauthorized"
        sender = xml_field(message, "FromUserName")
        fields = ("CreateTime", "Event", "EventKey")
        key = xml_field(message, "MsgId") or ":".join(
            [sender, *(xml_field(message, name) for name in fields)]
        )
        # Answered now, handled after: the event id rides in the command's transaction.
        self.services.executor.submit(self._on_message, message, key)
        return 200, ""

    def _command_text(self, message: Element) -> str | None:
        kind = xml_field(message, "MsgType")
        if kind == "text":
            return xml_field(message, "Content")
        if kind == "event":
            event, event_key = xml_field(message, "Event"), xml_field(message, "EventKey")
            if event == "template_card_event":
                return event_key  # the button's key is the command it runs
            if event == "click":
                return MENU_COMMANDS.get(event_key)
        return None

    def _on_message(self, message: Element, event_id: str) -> None:
        try:
            text = self._command_text(message)
            if not text:
                return
            sender = xml_field(message, "FromUserName")
            reply = self.services.dispatcher.dispatch(
                # An app message is always one person talking to the bot.
                Command(text=text, team_id=None, user_id=sender, user_name=sender, direct=True),
                Delivery(PLATFORM, event_id),
            )
            if reply is None:
                return  # a retry of a message already answered
            seed = ":".join(
                [sender, xml_field(message, "MsgId"), xml_field(message, "CreateTime"), text]
            )
            task_id = hashlib.sha256(seed.encode()).hexdigest()[:32]
            self.client.send_reply(sender, reply, task_id)
        except Exception:
            log.exception("wecom message could not be answered")
