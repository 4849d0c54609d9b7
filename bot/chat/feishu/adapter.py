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

import hashlib
import hmac
import json
import logging
import re
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import httpx

from bot.chat.base import ChatServices
from bot.chat.feishu.client import FeishuClient, FeishuError
from bot.chat.feishu.crypto import CallbackRejected, decrypt, signature
from bot.chat.feishu.render import card_fits, render_card, submitted_command
from bot.chat.feishu.sender import _uuid
from bot.chat.feishu.settings import FeishuSettings
from bot.core.dispatch import Delivery
from bot.core.messages import Command, Mention, Reply, Tone

log = logging.getLogger(__name__)

PLATFORM = "feishu"
MENTION_KEY = re.compile(r"@_user_\d+")
LEADING_MENTIONS = re.compile(r"^(\s*@_user_\d+\s*)+(?=[/／])")  # "@opsbot /topic …"


class FeishuAdapter:
    """Callbacks and long-connection events in; replies as cards."""

    def __init__(
        self, services: ChatServices, settings: FeishuSettings, client: FeishuClient
    ) -> None:
        self.services = services
        self.settings = settings
        self.client = client

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
        """Check a callback before anything reads it, and return its payload.

        With an Encrypt Key, every event must be encrypted and signed, with a timestamp
        within five minutes (Feishu signs events; only its URL check comes unsigned, and
        that is answered with the challenge and nothing else). Without one, the
        Verification Token must match; with neither configured, nothing is let in.
        """
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            raise CallbackRejected("not JSON") from None
        if not isinstance(payload, dict):
            raise CallbackRejected("not a JSON object")
        key = self.settings.encrypt_key
        if key and payload.get("type") == "url_verification" and "encrypt" not in payload:
            pass  # the plain URL check: answered with its challenge, it changes nothing
        elif key:
            if not isinstance(payload.get("encrypt"), str) or payload.keys() != {"encrypt"}:
                raise CallbackRejected("a plain body although an encrypt_key is configured")
            try:
                opened = json.loads(decrypt(payload["encrypt"], key))
            except ValueError:
                raise CallbackRejected("decrypted body is not JSON") from None
            if not isinstance(opened, dict):
                raise CallbackRejected("decrypted body is not a JSON object")
            if opened.get("type") != "url_verification":
                self._check_signature(headers, body, key)
            payload = opened
        elif not self.settings.verification_token:
            raise CallbackRejected("neither encrypt_key nor verification_token is configured")
        header = payload.get("header")
        token = payload.get("token") or (header.get("token") if isinstance(header, dict) else None)
        if self.settings.verification_token and token != self.settings.verification_token:
            raise CallbackRejected("wrong verification token")
        checked: dict[str, Any] = payload
        return checked

    def _check_signature(self, headers: dict[str, str], body: bytes, key: str) -> None:
        timestamp = headers.get("x-lark-request-timestamp", "")
        nonce = headers.get("x-lark-request-nonce", "")
        given = headers.get("x-lark-signature", "")
        if not (timestamp and given):
            raise CallbackRejected("an event without X-Lark-Signature and its timestamp")
        if not hmac.compare_digest(signature(timestamp, nonce, key, body), given):
            raise CallbackRejected("bad signature")
        if not self.services.signed_recently(timestamp):
            raise CallbackRejected("the timestamp is outside the five-minute window")

    # -- events (from HTTP or the long connection) ---------------------------------------

    def handle_event(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A message is acknowledged at once and answered after (on the executor); a card
        button is answered while Feishu waits, since the answer carries the new card.

        The event id travels with the command: the dispatcher records it in the
        command's own transaction, so a retried event runs once, and a command that
        failed runs again when Feishu retries it.
        """
        header = payload.get("header") or {}
        event_type = header.get("event_type")
        # An event without header.event_id (the 1.0 schema) is still recognised when
        # Feishu sends it again: by its uuid, else by its content.
        event_id = header.get("event_id") or payload.get("uuid") or _fingerprint(payload)
        event = payload.get("event") or {}
        if event_type == "im.message.receive_v1":
            self.services.executor.submit(self._on_message, event, event_id)
            return {}
        if event_type == "card.action.trigger":
            return self._on_card_action(event, event_id)
        return {}

    @staticmethod
    def _command_text(text: str, mentions: list[dict[str, Any]]) -> tuple[str, tuple[Mention, ...]]:
        """Strip the bot's leading mention; colleagues' mention keys become placeholders
        the dispatcher resolves to members by their open_id."""
        text = LEADING_MENTIONS.sub("", text.strip())
        found = []
        for mention in mentions:
            key, open_id = mention.get("key"), (mention.get("id") or {}).get("open_id")
            if key and open_id and key in text:
                found.append(Mention(key, open_id, mention.get("name")))
        known = {mention.placeholder for mention in found}
        text = MENTION_KEY.sub(
            lambda match: match.group(0) if match.group(0) in known else "", text
        )
        return text.strip(), tuple(found)

    def _on_message(self, event: dict[str, Any], event_id: str | None) -> None:
        try:
            message = event.get("message") or {}
            if message.get("message_type") != "text":
                return
            raw = json.loads(message.get("content") or "{}").get("text", "")
            text, mentions = self._command_text(raw, message.get("mentions") or [])
            in_group = message.get("chat_type") == "group"
            if in_group and not text.startswith(("/", "／")):
                return  # in a group the bot answers commands only
            open_id = ((event.get("sender") or {}).get("sender_id") or {}).get("open_id", "")
            command = Command(
                text=text, team_id=None, user_id=open_id, channel_id=message.get("chat_id"),
                mentions=mentions, describe_user=lambda: self.client.user_name(open_id),
                direct=not in_group,  # a p2p chat: plain text is a conversation
            )  # fmt: skip
            reply = self.services.dispatcher.dispatch(command, Delivery(PLATFORM, event_id))
            if reply is None:
                log.info("feishu event %s already handled", event_id)
                return
            self.client.reply_to(
                message["message_id"], reply, uuid=_uuid(f"reply:{message['message_id']}")
            )
        except Exception:
            log.exception("feishu message could not be answered")

    # -- card buttons ---------------------------------------------------------------------

    # Feishu waits 3 s for a card callback's answer (处理卡片回调). A command still running
    # after `card_answer_within` seconds is answered with a toast, and its card updated
    # through the delayed-update API when it is done — `card_update_grace` seconds after
    # the answer was handed back, since Feishu undoes an update that does not come after
    # the answer (延时更新消息卡片). Both are attributes so a test can shorten them.
    card_answer_within: float = 2.5
    card_update_grace: float = 0.5

    def _on_card_action(self, event: dict[str, Any], event_id: str | None) -> dict[str, Any]:
        """A button runs the command it carries, on the executor, while this thread keeps
        Feishu's deadline: a quick command's answer carries the updated card; a slow one
        is answered "working on it", and `_answer_late` updates the card when it is done.

        A form container's submit button is the same, with the command built from what was
        typed (`_action_command`): a refusal is an error toast and the card stays as it
        is, so the person fixes the field and submits again; what was stored replaces it.
        """
        command = self._action_command(event.get("action") or {})
        open_id = (event.get("operator") or {}).get("open_id", "")
        context = event.get("context") or {}
        if not command:
            return {}
        token, message_id = event.get("token"), context.get("open_message_id")
        answered = threading.Event()
        try:
            try:
                future: Future[Reply | None] = self.services.executor.submit(
                    self.services.dispatcher.dispatch,
                    Command(
                        text=command, team_id=None, user_id=open_id,
                        channel_id=context.get("open_chat_id"),
                    ),
                    Delivery(PLATFORM, event_id),
                )  # fmt: skip
                reply = future.result(timeout=self.card_answer_within)
            except FutureTimeout:
                self._in_background(
                    self._answer_late, answered, future, token, message_id, event_id
                )
                working = self.services.t("feishu.card.working")
                return {"toast": {"type": "info", "content": working}}
            except Exception:
                log.exception("feishu card button %r failed", command)
                internal = self.services.t("errors.internal")[:100]
                return {"toast": {"type": "error", "content": internal}}
            if reply is None:
                return {}
            answer = self.card_answer(reply, submit_label=self.services.t("button.submit"))
            if "card" not in answer and reply.tone is not Tone.ERROR:  # too big for a card
                self._in_background(self._show_late, reply, None, message_id, event_id)
            return answer
        finally:
            answered.set()  # the answer is on its way back to Feishu

    @staticmethod
    def _action_command(action: dict[str, Any]) -> str | None:
        """The command a card callback stands for: a form's submission (its values written
        into the form's command), or the command a button carries."""
        submitted = submitted_command(action)
        if submitted is not None:
            return submitted
        value = action.get("value")
        command = value.get("command") if isinstance(value, dict) else None
        return command if isinstance(command, str) else None

    @staticmethod
    def card_answer(reply: Reply, *, submit_label: str | None = None) -> dict[str, Any]:
        """What a card callback answers: a toast, and the updated card (JSON 2.0) unless
        the command failed or the card would be too big for Feishu.

        A form (the stand-up's "Answer" button) comes without a toast: nothing was done
        yet, and the card turning into the form says enough.
        """
        toast = {
            "type": "error" if reply.tone is Tone.ERROR else "success",
            "content": reply.title[:100],
        }
        card = render_card(reply, submit_label=submit_label)
        if reply.tone is Tone.ERROR or not card_fits(card):
            return {"toast": toast}
        if reply.form is not None:
            return {"card": {"type": "raw", "data": card}}
        return {"toast": toast, "card": {"type": "raw", "data": card}}

    @staticmethod
    def _in_background(target: Any, *args: Any) -> None:
        """Work a card's answer must not wait for (rare: a slow or an oversized reply)."""
        threading.Thread(target=target, args=args, name="feishu-card", daemon=True).start()

    def _answer_late(
        self, answered: threading.Event, future: Future[Reply | None],
        token: str | None, message_id: str | None, event_id: str | None,
    ) -> None:  # fmt: skip
        """A slow button's command, once it is done: after Feishu has had its answer."""
        answered.wait()
        time.sleep(self.card_update_grace)
        try:
            reply = future.result()
        except Exception:
            log.exception("feishu card button failed after its answer")
            return
        if reply is not None:
            self._show_late(reply, token, message_id, event_id)

    def _show_late(
        self, reply: Reply, token: str | None, message_id: str | None, event_id: str | None
    ) -> None:
        """The card updated through the callback's token; a reply the card cannot show
        (a failure, whose toast is gone, or a card too big) is posted as an answer to the
        card's message instead, and so is the reply when the update is refused."""
        card = render_card(reply, submit_label=self.services.t("button.submit"))
        if token and reply.tone is not Tone.ERROR and card_fits(card):
            try:
                self.client.update_card(token, card)
                return
            except (FeishuError, httpx.HTTPError):
                log.exception("feishu: a card could not be updated; its reply is posted instead")
        if not message_id:
            log.warning("feishu: a card button's reply has nowhere to go: %s", reply.title)
            return
        try:
            self.client.reply_to(
                message_id, reply, uuid=_uuid(f"card:{event_id or token or message_id}")
            )
        except (FeishuError, httpx.HTTPError):
            log.exception("feishu: a card button's reply could not be posted")

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


def _fingerprint(payload: dict[str, Any]) -> str:
    return (
        "sha256:"
        + hashlib.sha256(
            json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest()
    )
