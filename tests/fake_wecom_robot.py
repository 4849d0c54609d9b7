"""A fake of WeCom's smart-robot long connection on 127.0.0.1 (port 0), speaking the
documented frames (智能机器人长连接) and checking what WeCom checks.

- The first frame of a connection must be `aibot_subscribe` with the robot's bot_id and
  secret and a req_id; anything else, or wrong credentials, is answered with an errcode
  and the connection is closed. Subscribing twice on one connection is a violation.
- Every frame must be a JSON object with a `cmd` and `headers.req_id`; the answer echoes
  the req_id. `ping` is answered `errcode: 0`.
- `aibot_respond_msg` must carry the req_id of a message callback pushed on *this*
  connection, `aibot_respond_update_msg` that of a card click (within the click's
  connection too); any other req_id is answered 846605 (invalid req_id).
- `aibot_send_msg` may only post into a chat that has written to the robot.
- Bodies: markdown at most 20,480 bytes; a `button_interaction` card needs a main
  title, one to six buttons with distinct keys, and a task_id of letters, digits and
  `_-@` (at most 128 bytes).

What breaks a rule is answered with an errcode and recorded in `violations`, which
fails the test when the fake closes (unless the test expects it). Errcodes other than
846605 are the fake's own choice: WeCom does not document them.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

INVALID_REQ_ID = 846605  # what WeCom answers a reply on a req_id it does not know
INVALID_FRAME = 40058  # the fake's: WeCom's "invalid parameter"
REFUSED = 40001  # the fake's: a wrong bot id or secret
NOT_A_CHAT = 846609  # the fake's: a proactive post into a chat that never wrote
MARKDOWN_BYTES = 20480
TASK_ID = re.compile(r"^[A-Za-z0-9_\-@]{1,128}$")


@dataclass
class _Connection:
    ws: ServerConnection
    number: int
    messages: set[str] = field(default_factory=set)  # req_ids of message callbacks
    clicks: set[str] = field(default_factory=set)  # req_ids of card clicks
    deaf: bool = False  # frames are ignored: what reached a dropped connection


@dataclass
class FakeRobot:
    bot_id: str = "bot-1"
    secret: str = "robot-secret"
    url: str = ""
    frames: list[dict[str, Any]] = field(default_factory=list)  # every frame we took
    violations: list[str] = field(default_factory=list)
    refusals: int = 0  # subscriptions refused for their credentials
    subscriptions: int = 0
    chats: set[str] = field(default_factory=set)  # conversations that wrote to the robot
    answer_pings: bool = True  # False: a connection that died without closing
    _current: _Connection | None = None
    _changed: threading.Condition = field(default_factory=threading.Condition)

    # -- what the test does ----------------------------------------------------------

    def push_text(
        self, text: str, *, user: str = "alice", chat: str | None = None, msgid: str | None = None
    ) -> str:
        """A message to the robot (in group `chat`, or a single chat); its req_id."""
        body: dict[str, Any] = {
            "msgid": msgid or uuid.uuid4().hex, "aibotid": self.bot_id,
            "chattype": "group" if chat else "single", "from": {"userid": user},
            "msgtype": "text", "text": {"content": text},
        }  # fmt: skip
        if chat:
            body["chatid"] = chat
        return self._push("aibot_msg_callback", body, "message", chat or user)

    def push_click(
        self, key: str, task_id: str, *, user: str, chat: str | None = None,
        msgid: str | None = None,
    ) -> str:  # fmt: skip
        """A click on a button card's button (`key`); its req_id."""
        body: dict[str, Any] = {
            "msgid": msgid or uuid.uuid4().hex, "create_time": int(time.time()),
            "aibotid": self.bot_id, "chattype": "group" if chat else "single",
            "from": {"userid": user}, "msgtype": "event",
            "event": {
                "eventtype": "template_card_event",
                "template_card_event": {
                    "card_type": "button_interaction", "event_key": key, "task_id": task_id,
                },
            },
        }  # fmt: skip
        if chat:
            body["chatid"] = chat
        return self._push("aibot_event_callback", body, "click", chat or user)

    def replace(self) -> None:
        """Another connection subscribed with this robot: `disconnected_event`, then close."""
        body = {"msgid": uuid.uuid4().hex, "create_time": int(time.time()),
                "aibotid": self.bot_id, "msgtype": "event",
                "event": {"eventtype": "disconnected_event"}}  # fmt: skip
        connection = self._connected()
        connection.ws.send(json.dumps({"cmd": "aibot_event_callback",
                                       "headers": {"req_id": uuid.uuid4().hex}, "body": body}))  # fmt: skip
        connection.ws.close()

    def drop(self, *, deaf_first: bool = False) -> None:
        """Close the current connection (a clean close, as a server restart does it).
        `deaf_first`: what the bot sends from now on is ignored, as if never arrived."""
        connection = self._connected()
        connection.deaf = deaf_first or connection.deaf
        connection.ws.close()

    def push_then_drop(self, text: str, **where: Any) -> str:
        """A message, and the connection closes before the bot can answer it."""
        connection = self._connected()
        connection.deaf = True
        req_id = self.push_text(text, **where)
        connection.ws.close()
        return req_id

    def wait(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        with self._changed:
            if not self._changed.wait_for(predicate, timeout):
                raise AssertionError(f"the fake robot waited {timeout} s in vain: {self.frames}")

    @property
    def connected(self) -> bool:
        return self._current is not None

    def wait_subscribed(self, count: int = 1) -> None:
        self.wait(lambda: self.subscriptions >= count and self._current is not None)

    def sent(self, cmd: str | None = None) -> list[dict[str, Any]]:
        """The frames the bot sent (all, or of one kind), in order; not pings."""
        return [f for f in self.frames if f["cmd"] != "ping" and (cmd is None or f["cmd"] == cmd)]

    def replies_to(self, req_id: str) -> list[dict[str, Any]]:
        return [f for f in self.sent("aibot_respond_msg") if f["headers"]["req_id"] == req_id]

    def posts_to(self, chat: str) -> list[dict[str, Any]]:
        return [f for f in self.sent("aibot_send_msg") if f["body"].get("chatid") == chat]

    # -- the server --------------------------------------------------------------------

    def _connected(self) -> _Connection:
        self.wait(lambda: self._current is not None)
        assert self._current is not None
        return self._current

    def _push(self, cmd: str, body: dict[str, Any], kind: str, conversation: str) -> str:
        connection = self._connected()
        req_id = uuid.uuid4().hex
        (connection.messages if kind == "message" else connection.clicks).add(req_id)
        self.chats.add(conversation)
        connection.ws.send(json.dumps({"cmd": cmd, "headers": {"req_id": req_id}, "body": body}))
        return req_id

    def handle(self, ws: ServerConnection) -> None:
        try:
            connection = self._subscribe(ws)
            if connection is None:
                return
            for raw in ws:
                if connection.deaf:
                    continue
                self._take(connection, raw)
        except ConnectionClosed:
            pass
        finally:
            with self._changed:
                if self._current is not None and self._current.ws is ws:
                    self._current = None
                self._changed.notify_all()

    def _subscribe(self, ws: ServerConnection) -> _Connection | None:
        frame = _frame(ws.recv(timeout=10))
        req_id = _req_id(frame)
        if frame is None or frame.get("cmd") != "aibot_subscribe" or not req_id:
            self.violations.append(f"the first frame is not a subscription: {frame!r}")
            ws.send(json.dumps({"headers": {"req_id": req_id}, "errcode": INVALID_FRAME,
                                "errmsg": "subscribe first"}))  # fmt: skip
            ws.close()
            return None
        body = frame.get("body") or {}
        if body.get("bot_id") != self.bot_id or body.get("secret") != self.secret:
            with self._changed:
                self.refusals += 1
                self._changed.notify_all()
            ws.send(json.dumps({"headers": {"req_id": req_id}, "errcode": REFUSED,
                                "errmsg": "invalid bot_id or secret"}))  # fmt: skip
            ws.close()
            return None
        with self._changed:
            self.subscriptions += 1
            connection = _Connection(ws, self.subscriptions)
            self._current = connection
            ws.send(json.dumps({"headers": {"req_id": req_id}, "errcode": 0, "errmsg": "ok"}))
            self._changed.notify_all()
        return connection

    def _take(self, connection: _Connection, raw: str | bytes) -> None:
        frame = _frame(raw)
        req_id = _req_id(frame)
        if frame is None or not isinstance(frame.get("cmd"), str) or not req_id:
            self._refuse(connection, req_id, INVALID_FRAME, f"a malformed frame: {raw!r:.200}")
            return
        if frame["cmd"] == "ping" and not self.answer_pings:
            with self._changed:
                self.frames.append(frame)
                self._changed.notify_all()
            return
        problem, code = self._problem(connection, frame)
        if problem:
            self._refuse(connection, req_id, code, problem)
            return
        with self._changed:
            self.frames.append(frame)
            connection.ws.send(json.dumps({"headers": {"req_id": req_id}, "errcode": 0,
                                           "errmsg": "ok"}))  # fmt: skip
            self._changed.notify_all()

    def _problem(self, connection: _Connection, frame: dict[str, Any]) -> tuple[str, int]:
        cmd, req_id, body = frame["cmd"], _req_id(frame), frame.get("body") or {}
        if cmd == "ping":
            return "", 0
        if cmd == "aibot_subscribe":
            return "subscribed again on the same connection", INVALID_FRAME
        if cmd == "aibot_respond_msg":
            if req_id not in connection.messages:
                return f"a reply to unknown req_id {req_id}", INVALID_REQ_ID
            return _body_problem(body), INVALID_FRAME
        if cmd == "aibot_respond_update_msg":
            if req_id not in connection.clicks:
                return f"a card update for unknown req_id {req_id}", INVALID_REQ_ID
            if body.get("response_type") != "update_template_card":
                return "a card update without response_type", INVALID_FRAME
            return _card_problem(body.get("template_card")), INVALID_FRAME
        if cmd == "aibot_send_msg":
            if body.get("chatid") not in self.chats:
                return f"a post into {body.get('chatid')!r}, which never wrote", NOT_A_CHAT
            return _body_problem(body), INVALID_FRAME
        return f"unknown cmd {cmd!r}", INVALID_FRAME

    def _refuse(self, connection: _Connection, req_id: str, code: int, problem: str) -> None:
        with self._changed:
            self.violations.append(problem)
            connection.ws.send(json.dumps({"headers": {"req_id": req_id}, "errcode": code,
                                           "errmsg": problem}))  # fmt: skip
            self._changed.notify_all()


def _body_problem(body: dict[str, Any]) -> str:
    kind = body.get("msgtype")
    if kind == "markdown":
        content = (body.get("markdown") or {}).get("content")
        if not isinstance(content, str) or not content:
            return "markdown without content"
        if len(content.encode()) > MARKDOWN_BYTES:
            return f"markdown of {len(content.encode())} bytes"
        return ""
    if kind == "template_card":
        return _card_problem(body.get("template_card"))
    return f"a message of msgtype {kind!r}"


def _card_problem(card: Any) -> str:
    if not isinstance(card, dict) or card.get("card_type") != "button_interaction":
        return f"not a button card: {card!r:.200}"
    if not (card.get("main_title") or {}).get("title"):
        return "a card without main_title.title"
    buttons = card.get("button_list") or []
    keys = [button.get("key") for button in buttons]
    if not 1 <= len(buttons) <= 6 or len(set(keys)) != len(keys) or not all(keys):
        return f"a card's button_list is wrong: {buttons!r}"
    if not TASK_ID.match(str(card.get("task_id", ""))):
        return f"a card's task_id is wrong: {card.get('task_id')!r}"
    return ""


def _frame(raw: str | bytes) -> dict[str, Any] | None:
    try:
        frame = json.loads(raw)
    except ValueError:
        return None
    return frame if isinstance(frame, dict) else None


def _req_id(frame: dict[str, Any] | None) -> str:
    headers = frame.get("headers") if frame else None
    req_id = headers.get("req_id") if isinstance(headers, dict) else None
    return req_id if isinstance(req_id, str) else ""


@contextmanager
def fake_wecom_robot(*, expect_violations: bool = False) -> Iterator[FakeRobot]:
    fake = FakeRobot()
    with serve(fake.handle, "127.0.0.1", 0) as server:
        fake.url = f"ws://127.0.0.1:{server.socket.getsockname()[1]}"
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield fake
        finally:
            server.shutdown()
            thread.join(5)
    if not expect_violations:
        assert fake.violations == [], fake.violations
