"""The smart robot's long connection (智能机器人长连接): WeCom's frame protocol over a
WebSocket, with the heartbeat, the reconnection and the answers to what we send.

Every frame is JSON `{cmd, headers: {req_id}, body}`. We open the connection and send
`aibot_subscribe` with the robot's id and secret first; WeCom answers
`{headers: {req_id}, errcode, errmsg}` with our req_id, as it answers every frame we send.
It pushes `aibot_msg_callback` (a message) and `aibot_event_callback` (a card click,
entering the chat, `disconnected_event` when another connection subscribed with the same
robot); a reply to one (`aibot_respond_msg`, `aibot_respond_update_msg`) carries that
callback's req_id, and is only good on the connection the callback came in on. A
proactive post (`aibot_send_msg`) has a req_id of our own. `ping` every 30 s keeps the
connection open; two pings without an answer and the connection is taken for dead.

Why not the official SDK (`wecom-aibot-python-sdk` 1.0.2)? It cannot be pointed at a
`ws://` test server (it always passes an SSL context, which websockets refuses for
`ws://`); with websockets 14 or later a clean close by the server ends its receive loop
without an error, so it never reconnects and reports nothing; its `connect()` does not
return until a connection succeeds, retrying a wrong URL like an outage; it gives up
after ten attempts by default; a refused subscription leaves the socket open without a
heartbeat; and it brings aiohttp and pyee for a file download we do not use. This module
is the documented protocol on the `websockets` library, with threads like the rest of
`opsbot run`: `start()` returns at once, `stop()` closes the connection.

Reconnection backs off (1 s, doubling, at most 60 s, with some jitter), so that WeCom's
protection against repeated subscriptions is never triggered; a refused subscription
waits the longest. Being replaced by another connection (`disconnected_event`) is logged
as an error and waited out for `replaced_pause_seconds` before subscribing again: one
robot has one connection, and a second `opsbot run` (or a test run on a laptop) with the
same robot must not take turns with this one every second.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import ClientConnection, connect

log = logging.getLogger(__name__)

SUBSCRIBE = "aibot_subscribe"
PING = "ping"
MESSAGE_CALLBACK = "aibot_msg_callback"
EVENT_CALLBACK = "aibot_event_callback"
RESPOND = "aibot_respond_msg"
RESPOND_UPDATE = "aibot_respond_update_msg"
SEND = "aibot_send_msg"
REPLACED_EVENT = "disconnected_event"

# Ours, not WeCom's: why a frame could not be sent or answered.
NOT_CONNECTED = -10  # no connection (yet, or any more)
CONNECTION_LOST = -11  # the connection closed before the answer came
NO_ANSWER = -12  # no answer within `answer_seconds`
TRANSPORT = {NOT_CONNECTED, CONNECTION_LOST, NO_ANSWER}

Frame = dict[str, Any]


class RobotError(Exception):
    """WeCom refused a frame (its errcode), or the connection failed (our codes above)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"wecom robot {code}: {message}")
        self.code = code

    @property
    def transport(self) -> bool:
        """The frame may not have reached WeCom: sending it again may succeed."""
        return self.code in TRANSPORT


@dataclass(frozen=True)
class Inbound:
    """A callback from WeCom, and which connection it came in on (its replies must go
    back on that one)."""

    frame: Frame
    connection: int

    @property
    def req_id(self) -> str:
        return str((self.frame.get("headers") or {}).get("req_id", ""))

    @property
    def body(self) -> Frame:
        body = self.frame.get("body")
        return body if isinstance(body, dict) else {}


@dataclass(frozen=True)
class Backoff:
    """How long to wait before the `attempt`-th reconnection in a row (1, 2, …)."""

    first: float = 1.0
    most: float = 60.0

    def delay(self, attempt: int) -> float:
        base = min(self.most, self.first * 2.0 ** max(attempt - 1, 0))
        return base * random.uniform(0.8, 1.0)  # several bots never retry in step


@dataclass
class _Pending:
    answered: threading.Event = field(default_factory=threading.Event)
    answer: Frame | None = None  # None once answered: the connection was lost


class _Refused(Exception):
    """The subscription was refused: wrong bot id or secret (or WeCom's protection)."""


def new_req_id(cmd: str) -> str:
    return f"{cmd}_{uuid.uuid4().hex}"


class RobotClient:
    """One long connection, kept open by a thread of its own.

    `on_frame` gets each callback (in the connection's thread: it must hand the work
    over, not do it); `on_ready` is called after each successful subscription.
    `request` sends a frame from any thread and waits for WeCom's answer.
    """

    heartbeat_seconds = 30.0
    missed_pings_allowed = 2
    answer_seconds = 10.0
    connect_wait_seconds = 5.0
    open_seconds = 10.0
    replaced_pause_seconds = 300.0

    def __init__(
        self,
        bot_id: str,
        secret: str,
        url: str,
        *,
        on_frame: Callable[[Inbound], None],
        on_ready: Callable[[], None] = lambda: None,
        backoff: Backoff | None = None,
    ) -> None:
        self.bot_id = bot_id
        self.secret = secret
        self.url = url
        self.on_frame = on_frame
        self.on_ready = on_ready
        self.backoff = backoff or Backoff()
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._holding = threading.Event()  # stopping: callbacks are no longer taken
        self._ws: ClientConnection | None = None
        self._connection = 0  # counts subscriptions: which connection a callback came on
        self._pending: dict[str, _Pending] = {}
        self._thread: threading.Thread | None = None

    # -- life ------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._holding.clear()
        self._thread = threading.Thread(target=self._run, name="wecom-robot", daemon=True)
        self._thread.start()

    def hold(self) -> None:
        """Take no more callbacks (they are logged and left), still read the answers to
        what is being sent: the first step of stopping."""
        self._holding.set()

    def stop(self, timeout: float = 2.0) -> None:
        self._stopping.set()
        with self._lock:
            ws = self._ws
        if ws is not None:
            ws.close()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def started(self) -> bool:
        return self._thread is not None

    @property
    def connection(self) -> int:
        """The number of the current connection (0: none yet)."""
        return self._connection

    def wait_ready(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    def _run(self) -> None:
        attempt = 0
        while not self._stopping.is_set():
            try:
                attempt, pause = self._one_connection(attempt)
            except Exception:  # never a silent end: the thread must go on reconnecting
                log.exception("wecom robot: the long connection failed")
                attempt += 1
                pause = self.backoff.delay(attempt)
            self._wait(pause)
        log.info("wecom robot: long connection closed")

    def _one_connection(self, attempt: int) -> tuple[int, float]:
        """Connect, subscribe and read until the connection ends: the attempts in a row
        that failed, and how long to wait before the next."""
        try:
            ws = connect(self.url, open_timeout=self.open_seconds, close_timeout=2)
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as error:
            log.warning("wecom robot: cannot connect to %s: %s", self.url, error)
            return attempt + 1, self.backoff.delay(attempt + 1)
        try:
            try:
                self._subscribe(ws)
            except _Refused as refused:
                log.error(
                    "wecom robot: WeCom refused the subscription (%s): check platforms.wecom"
                    ".bot_id and bot_secret (智能机器人 → API 模式 → 长连接)", refused,
                )  # fmt: skip
                return attempt + 1, self.backoff.most
            except (ConnectionClosed, OSError, TimeoutError) as error:
                log.warning("wecom robot: the subscription got no answer: %s", error)
                return attempt + 1, self.backoff.delay(attempt + 1)
            with self._lock:
                self._ws = ws
                self._connection += 1
            self._ready.set()
            log.info("wecom robot: connected and subscribed (connection %d)", self._connection)
            opened = time.monotonic()
            self.on_ready()
            replaced = self._read(ws)
        finally:
            self._ready.clear()
            with self._lock:
                self._ws = None
            self._fail_pending()
            ws.close()
        if self._stopping.is_set():
            return 0, 0.0
        if replaced:
            log.error(
                "wecom robot: another connection subscribed with bot %s and replaced this "
                "one (a second opsbot run? one robot keeps one connection); subscribing "
                "again in %.0f s", self.bot_id, self.replaced_pause_seconds,
            )  # fmt: skip
            return 0, self.replaced_pause_seconds
        # A connection that held for a while starts the backoff again; one that keeps
        # dropping at once backs off as failed attempts do.
        attempt = 1 if time.monotonic() - opened > self.backoff.most else attempt + 1
        pause = self.backoff.delay(attempt)
        log.warning("wecom robot: the connection was lost; reconnecting in %.1f s", pause)
        return attempt, pause

    def _wait(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def _subscribe(self, ws: ClientConnection) -> None:
        req_id = new_req_id(SUBSCRIBE)
        body = {"bot_id": self.bot_id, "secret": self.secret}
        ws.send(json.dumps({"cmd": SUBSCRIBE, "headers": {"req_id": req_id}, "body": body}))
        deadline = time.monotonic() + self.answer_seconds
        while True:
            frame = _parse(ws.recv(timeout=max(deadline - time.monotonic(), 0)))
            if frame is None or _req_id(frame) != req_id:
                log.warning("wecom robot: a frame before the subscription's answer: %.200r", frame)
                continue
            code = _errcode(frame)
            if code != 0:
                raise _Refused(f"errcode {code}: {frame.get('errmsg')}")
            return

    def _read(self, ws: ClientConnection) -> bool:
        """Frames until the connection ends; True when another connection replaced it."""
        connection = self._connection
        pings: set[str] = set()
        next_ping = time.monotonic() + self.heartbeat_seconds
        while not self._stopping.is_set():
            try:
                raw = ws.recv(timeout=max(next_ping - time.monotonic(), 0))
            except TimeoutError:
                if len(pings) >= self.missed_pings_allowed:
                    log.warning("wecom robot: %d pings went unanswered", len(pings))
                    return False
                ping = new_req_id(PING)
                pings.add(ping)
                try:
                    self._send_frame(ws, {"cmd": PING, "headers": {"req_id": ping}})
                except (ConnectionClosed, OSError):
                    return False
                next_ping = time.monotonic() + self.heartbeat_seconds
                continue
            except ConnectionClosed as closed:
                log.info("wecom robot: connection closed: %s", closed)
                return False
            frame = _parse(raw)
            if frame is None:
                log.warning("wecom robot: a frame that is not a JSON object: %.200r", raw)
                continue
            cmd = frame.get("cmd")
            if cmd in (MESSAGE_CALLBACK, EVENT_CALLBACK):
                inbound = Inbound(frame, connection)
                event = inbound.body.get("event")
                if isinstance(event, dict) and event.get("eventtype") == REPLACED_EVENT:
                    return True
                if self._holding.is_set():
                    log.warning("wecom robot: stopping, so callback %s is not taken: %.200r",
                                inbound.req_id, inbound.body.get("msgid"))  # fmt: skip
                    continue
                self.on_frame(inbound)
            elif not cmd:  # an answer to a frame of ours
                req_id = _req_id(frame)
                if req_id in pings:
                    pings.clear()  # any answer shows the connection is alive
                else:
                    self._answered(req_id, frame)
            else:
                log.warning("wecom robot: a frame of unknown kind %r", cmd)
        return False

    # -- sending ---------------------------------------------------------------------

    def request(
        self, cmd: str, body: Frame, *, req_id: str | None = None, connection: int | None = None
    ) -> Frame:
        """Send a frame and wait for WeCom's answer (raises RobotError if it is not 0).

        A reply (`connection` given: the callback's) goes only on that connection; a
        proactive frame waits up to `connect_wait_seconds` for one.
        """
        if connection is None and not self._ready.wait(self.connect_wait_seconds):
            raise RobotError(NOT_CONNECTED, "the long connection is not open")
        req_id = req_id or new_req_id(cmd)
        pending = self._register(req_id)
        try:
            with self._lock:
                ws, current = self._ws, self._connection
            if ws is None or (connection is not None and connection != current):
                raise RobotError(CONNECTION_LOST, "the callback's connection is closed")
            try:
                self._send_frame(ws, {"cmd": cmd, "headers": {"req_id": req_id}, "body": body})
            except (ConnectionClosed, OSError) as error:
                raise RobotError(CONNECTION_LOST, str(error)) from None
            if not pending.answered.wait(self.answer_seconds):
                raise RobotError(NO_ANSWER, f"no answer to {cmd} within {self.answer_seconds:g} s")
            if pending.answer is None:
                raise RobotError(CONNECTION_LOST, f"the connection closed before {cmd}'s answer")
            code = _errcode(pending.answer)
            if code != 0:
                raise RobotError(code, str(pending.answer.get("errmsg")))
            return pending.answer
        finally:
            with self._lock:
                if self._pending.get(req_id) is pending:
                    del self._pending[req_id]

    def _send_frame(self, ws: ClientConnection, frame: Frame) -> None:
        with self._send_lock:
            ws.send(json.dumps(frame, ensure_ascii=False))

    def _register(self, req_id: str) -> _Pending:
        """A reply's frames share the callback's req_id: one at a time, each answered."""
        while True:
            with self._lock:
                earlier = self._pending.get(req_id)
                if earlier is None:
                    pending = _Pending()
                    self._pending[req_id] = pending
                    return pending
            earlier.answered.wait(self.answer_seconds)  # then it is gone, answered or not

    def _answered(self, req_id: str, frame: Frame) -> None:
        with self._lock:
            pending = self._pending.pop(req_id, None)
        if pending is None:
            log.info("wecom robot: an answer nobody waits for (%s): %.200r", req_id, frame)
            return
        pending.answer = frame
        pending.answered.set()

    def _fail_pending(self) -> None:
        with self._lock:
            pending, self._pending = list(self._pending.values()), {}
        for waiting in pending:
            waiting.answered.set()  # with no answer: the connection was lost


def _parse(raw: str | bytes) -> Frame | None:
    try:
        frame = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return frame if isinstance(frame, dict) else None


def _req_id(frame: Frame) -> str:
    headers = frame.get("headers")
    return str(headers.get("req_id", "")) if isinstance(headers, dict) else ""


def _errcode(frame: Frame) -> int:
    try:
        return int(frame.get("errcode") or 0)
    except (TypeError, ValueError):
        return -1
