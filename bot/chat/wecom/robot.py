"""WeCom's smart robot (`platforms.wecom.mode: robot`): commands typed to the robot, its
card buttons and the team's posts, over the long connection of `robot_client`.

In: a message in a group where the robot is @mentioned, or in a single chat with it
(`aibot_msg_callback`; text, the text of a mixed message, a voice message's
transcript), becomes a `Command` — the leading @mention dropped, the group's chatid as
the channel (the team whose `channels.wecom` it is), the speaker's userid as the id —
and a `Delivery` whose event id is the callback's `msgid`: WeCom may push a message
again ("因为网络等原因重复回调"), after a reconnection too, and the dispatcher records
the id, so a command that changes something runs once. A command that only reads is
answered once per msgid by this process as well.

Out: the reply goes back on the callback's req_id (`aibot_respond_msg`): markdown, or a
button card (`button_interaction`, the button's key is the command it runs) after the
markdown when the card cannot show it all. A reply the connection could not take (it
dropped meanwhile: the callback's req_id dies with it) is kept and pushed to the same
chat with `aibot_send_msg` once the robot is connected again, so a reconnection loses
no answer. A card click (`template_card_event`) runs the button's command and, within
WeCom's five seconds, updates the card for the person who clicked
(`aibot_respond_update_msg`); a refusal, or an answer that took too long, is posted to
the chat instead. Team posts and reminders come from the outbox through `RobotSender`
(`aibot_send_msg` to the team's chatid or the member's userid). WeCom lets the robot
post only into chats where someone has written to it: a team's group must have sent
the robot one message first (the log names the chatid of a group that is no team's).
"""

from __future__ import annotations

import hashlib
import logging
import queue
import re
import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from bot.chat.base import ChatServices, HttpRoute
from bot.chat.wecom.errors import RATE_LIMITED
from bot.chat.wecom.render import render_card_update, robot_bodies
from bot.chat.wecom.robot_client import (
    EVENT_CALLBACK,
    MESSAGE_CALLBACK,
    RESPOND,
    RESPOND_UPDATE,
    SEND,
    Backoff,
    Inbound,
    RobotClient,
    RobotError,
)
from bot.chat.wecom.sender import ROBOT
from bot.chat.wecom.settings import WecomSettings
from bot.core.dispatch import Delivery
from bot.core.messages import Command
from bot.core.outbound import DeliveryError, OutgoingMessage, Sender

log = logging.getLogger(__name__)

PLATFORM = "wecom"
# "@运营助手 /topic …", "@Ops Bot /topic …": the mentions before the command's slash
LEADING_MENTIONS = re.compile(r"^\s*@[^/／]*?\s+(?=[/／])")
CARD_CLICK = "template_card_event"
REMEMBERED_MESSAGES = 2048  # msgids answered lately (a read-only command's re-push)
UNSENT_LIMIT = 500
RECONNECT_WAIT_SECONDS = 30.0
RATE_LIMIT_WAIT_SECONDS = 60.0


def task_id_for(seed: str) -> str:
    """A card's task_id: WeCom wants it unique per robot, of letters and digits."""
    return hashlib.sha256(seed.encode()).hexdigest()[:32]


def message_text(body: dict[str, Any]) -> str:
    """What a message callback says: its text, the text items of a mixed message, or
    the transcript of a voice message."""
    kind = body.get("msgtype")
    if kind == "text":
        return str((body.get("text") or {}).get("content") or "")
    if kind == "voice":
        return str((body.get("voice") or {}).get("content") or "")
    if kind == "mixed":
        items = (body.get("mixed") or {}).get("msg_item") or []
        return " ".join(
            str((item.get("text") or {}).get("content") or "")
            for item in items
            if isinstance(item, dict) and item.get("msgtype") == "text"
        )
    return ""


class WorkQueue:
    """Callbacks handed from the connection's thread to the executor, in order.

    The connection's thread only reads frames (it must go on reading: the answers to
    our replies come that way); a thread of this queue passes each piece of work to
    the plug-in's executor, which runs it at once in tests (`InlineExecutor`) and on a
    pool in `opsbot run`.
    """

    def __init__(self, services: ChatServices) -> None:
        self.services = services
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._unfinished = 0
        self._idle = threading.Condition()

    def put(self, work: Callable[[], None]) -> None:
        with self._idle:
            self._unfinished += 1
        self._queue.put(work)

    def drain(self, timeout: float) -> bool:
        """Wait until what was put has been done (False: still busy after `timeout`)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._unfinished == 0, timeout)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="wecom-robot-work", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while (work := self._queue.get()) is not None:
            self.services.executor.submit(self._do, work)

    def _do(self, work: Callable[[], None]) -> None:
        try:
            work()
        except Exception:
            log.exception("wecom robot: a callback could not be handled")
        finally:
            with self._idle:
                self._unfinished -= 1
                self._idle.notify_all()


class RobotAdapter:
    """Callbacks in (commands, card clicks), replies out on the same connection."""

    card_answer_within = timedelta(seconds=4)  # WeCom takes a card update for 5 s

    def __init__(
        self,
        services: ChatServices,
        settings: WecomSettings,
        client: RobotClient,
        later: Callable[[Callable[[], None]], None],
    ) -> None:
        self.services = services
        self.settings = settings
        self.client = client
        self.later = later
        self._answered: OrderedDict[str, None] = OrderedDict()
        self._unsent: deque[tuple[str, dict[str, Any]]] = deque(maxlen=UNSENT_LIMIT)
        self._flushing = threading.Lock()
        self._strangers: set[str] = set()
        self._lock = threading.Lock()

    # -- from the connection's thread --------------------------------------------------

    def on_frame(self, inbound: Inbound) -> None:
        received = self.services.wall_clock.now()  # a card's five seconds start here
        self.later(lambda: self.handle(inbound, received))

    def on_ready(self) -> None:
        self.later(self.flush_unsent)

    # -- callbacks ---------------------------------------------------------------------

    def handle(self, inbound: Inbound, received: datetime | None = None) -> None:
        body = inbound.body
        msgid = str(body.get("msgid") or "")
        if not msgid:
            log.warning("wecom robot: a callback without msgid: %.200r", inbound.frame)
            return
        if self._seen(msgid):
            log.info("wecom robot: message %s answered already", msgid)
            return
        cmd = inbound.frame.get("cmd")
        if cmd == MESSAGE_CALLBACK:
            self._on_message(inbound, body, msgid)
        elif cmd == EVENT_CALLBACK:
            event = body.get("event") or {}
            if isinstance(event, dict) and event.get("eventtype") == CARD_CLICK:
                click = event.get(CARD_CLICK) or {}
                self._on_card(
                    inbound, body, msgid, click, received or self.services.wall_clock.now()
                )

    def _command(self, body: dict[str, Any], text: str) -> Command:
        in_group = body.get("chattype") == "group"
        userid = str((body.get("from") or {}).get("userid") or "")
        chatid = str(body.get("chatid") or "") if in_group else None
        if chatid:
            self._note_stranger(chatid)
        return Command(
            text=text, team_id=None, user_id=userid, user_name=userid, channel_id=chatid,
            direct=not in_group,  # a single chat: plain text is a conversation
        )  # fmt: skip

    def _on_message(self, inbound: Inbound, body: dict[str, Any], msgid: str) -> None:
        text = LEADING_MENTIONS.sub("", message_text(body).strip()).strip()
        if body.get("chattype") == "group" and not text.startswith(("/", "／")):
            return  # in a group the robot answers commands only
        if not text:
            return
        command = self._command(body, text)
        reply = self.services.dispatcher.dispatch(command, Delivery(PLATFORM, msgid))
        if reply is None:
            log.info("wecom robot: message %s already handled", msgid)
            self._remember(msgid)
            return
        conversation = command.channel_id or command.user_id
        bodies = robot_bodies(reply, task_id_for(f"reply:{msgid}"))
        self._reply(inbound, conversation, bodies)
        if not reply.is_error:  # a command that failed runs again if WeCom pushes it again
            self._remember(msgid)

    def _reply(self, inbound: Inbound, conversation: str, bodies: list[dict[str, Any]]) -> None:
        """Each body on the callback's req_id; what the connection could not take is
        kept for `flush_unsent`, which pushes it to the chat once connected again."""
        for number, body in enumerate(bodies):
            try:
                self.client.request(
                    RESPOND, body, req_id=inbound.req_id, connection=inbound.connection
                )
            except RobotError as error:
                if not error.transport:
                    log.warning("wecom robot: WeCom refused a reply, posting it instead: %s", error)
                self._keep(conversation, bodies[number:])
                return

    def _on_card(
        self, inbound: Inbound, body: dict[str, Any], msgid: str, click: dict[str, Any],
        received: datetime,
    ) -> None:  # fmt: skip
        key, task_id = str(click.get("event_key") or ""), str(click.get("task_id") or "")
        if not key:
            return
        command = self._command(body, key)
        reply = self.services.dispatcher.dispatch(command, Delivery(PLATFORM, msgid))
        if reply is None or not reply.is_error:
            self._remember(msgid)
        if reply is None:
            return
        conversation = command.channel_id or command.user_id
        in_time = self.services.wall_clock.now() - received <= self.card_answer_within
        if reply.is_error or not task_id or not in_time:
            self._keep(conversation, robot_bodies(reply, task_id_for(f"card:{msgid}")))
            return
        update: dict[str, Any] = {
            "response_type": "update_template_card",
            "template_card": render_card_update(reply, task_id, key),
        }
        if command.channel_id:
            update["userids"] = [command.user_id]  # in a group: the card of who clicked
        try:
            self.client.request(
                RESPOND_UPDATE, update, req_id=inbound.req_id, connection=inbound.connection
            )
        except RobotError as error:
            log.warning("wecom robot: the card could not be updated, posting instead: %s", error)
            self._keep(conversation, robot_bodies(reply, task_id_for(f"card:{msgid}")))

    # -- what could not be answered on its callback --------------------------------------

    def _keep(self, conversation: str, bodies: list[dict[str, Any]]) -> None:
        with self._lock:
            if len(self._unsent) + len(bodies) > UNSENT_LIMIT:
                log.error("wecom robot: over %d replies wait for the connection; "
                          "the oldest are dropped", UNSENT_LIMIT)  # fmt: skip
            self._unsent.extend((conversation, body) for body in bodies)
        self.later(self.flush_unsent)

    def flush_unsent(self) -> None:
        """Post the kept replies in order, while the connection takes them (one flush at
        a time; what is kept while one runs is posted by it, or by the next)."""
        while self._flushing.acquire(blocking=False):
            try:
                stalled = self._post_kept()
            finally:
                self._flushing.release()
            if stalled or not self._unsent:
                return

    def _post_kept(self) -> bool:
        """True when the connection stopped taking them (`on_ready` flushes again)."""
        while True:
            with self._lock:
                if not self._unsent:
                    return False
                conversation, body = self._unsent[0]
            try:
                self.client.request(SEND, {"chatid": conversation, **body})
            except RobotError as error:
                if error.transport:
                    return True
                log.warning("wecom robot: a reply to %s was refused: %s", conversation, error)
            with self._lock:
                self._unsent.popleft()

    @property
    def unsent(self) -> int:
        return len(self._unsent)

    # -- bookkeeping -------------------------------------------------------------------

    def _seen(self, msgid: str) -> bool:
        with self._lock:
            return msgid in self._answered

    def _remember(self, msgid: str) -> None:
        with self._lock:
            self._answered[msgid] = None
            while len(self._answered) > REMEMBERED_MESSAGES:
                self._answered.popitem(last=False)

    def _note_stranger(self, chatid: str) -> None:
        """Log, once, a group that is no team's channel: the admin needs its chatid."""
        teams = self.services.settings.teams
        if chatid in self._strangers or any(t.channels.get(PLATFORM) == chatid for t in teams):
            return
        self._strangers.add(chatid)
        log.info(
            "wecom robot: a command from group chat %s, which is no team's channel; to post "
            "a team's digest there, set its channels.wecom to %s", chatid, chatid,
        )  # fmt: skip


class RobotSender:
    """Outbox items as proactive posts (`aibot_send_msg`): team posts to the team's chat
    (its chatid in `channels.wecom`), reminders to the member's userid."""

    def __init__(self, client: RobotClient) -> None:
        self.client = client

    def send(self, message: OutgoingMessage) -> None:
        if message.to_team and message.address in ("", ROBOT):
            raise DeliveryError(
                f"wecom robot mode: team {message.team_id} has no chat to post to: set "
                "its channels.wecom to the chatid of its group (the log names it when the "
                "group first writes to the robot)",
                retryable=False,
            )
        if not self.client.started:
            # `opsbot tick` does not open the long connection: subscribing would take
            # it from `opsbot run`, which then posts this item itself.
            raise DeliveryError(
                "wecom robot mode posts only from opsbot run (its long connection)",
                retry_after=RECONNECT_WAIT_SECONDS,
            )
        if message.reply.image is not None:
            log.info(
                "wecom robot: posts carry no picture yet; outbox item %s (%s) goes without %s",
                message.id, message.kind, message.reply.image.filename,
            )  # fmt: skip
        bodies = robot_bodies(message.reply, task_id_for(message.idempotency_key))
        for number, body in message.undelivered(bodies):
            try:
                self.client.request(SEND, {"chatid": message.address, **body})
            except RobotError as error:
                if error.transport:
                    raise DeliveryError(str(error), retry_after=RECONNECT_WAIT_SECONDS) from error
                if error.code in RATE_LIMITED:
                    raise DeliveryError(str(error), retry_after=RATE_LIMIT_WAIT_SECONDS) from error
                raise DeliveryError(f"{error} (will retry)") from error
            message.delivered(number)


class WecomRobotConnection:
    """WeCom in robot mode: no routes, the long connection, its sender."""

    drain_seconds = 5.0

    def __init__(
        self, settings: WecomSettings, services: ChatServices, *, backoff: Backoff | None = None
    ) -> None:
        self.settings = settings
        self.work = WorkQueue(services)
        self.client = RobotClient(
            settings.bot_id, settings.bot_secret, settings.ws_url,
            on_frame=self._on_frame, on_ready=self._on_ready, backoff=backoff,
        )  # fmt: skip
        self.adapter = RobotAdapter(services, settings, self.client, self.work.put)

    def _on_frame(self, inbound: Inbound) -> None:
        self.adapter.on_frame(inbound)

    def _on_ready(self) -> None:
        self.adapter.on_ready()

    def routes(self) -> list[HttpRoute]:
        return []

    def start(self) -> None:
        self.work.start()
        self.client.start()
        log.info("wecom: robot long connection started (%s)", self.settings.ws_url)

    def stop(self) -> None:
        """Take no new callbacks, finish the ones begun (their replies go out on the
        connection), then close it: within `drain_seconds` plus two."""
        self.client.hold()
        if not self.work.drain(self.drain_seconds):
            log.warning("wecom robot: closing with callbacks still being handled")
        self.client.stop()
        self.work.stop(timeout=1.0)

    def sender(self) -> Sender:
        return self._sender

    @cached_property
    def _sender(self) -> RobotSender:
        return RobotSender(self.client)
