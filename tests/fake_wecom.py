"""A fake WeCom API on 127.0.0.1 (port 0): gettoken, message/send and the group robot.

A robot `image` post is checked as WeCom checks it: the base64 must decode, the md5 must
be the hex md5 of the decoded bytes, and the picture must be at most 2 MB. A post that
fails a check is answered with WeCom's error, recorded in `violations`, and fails the
test when the fake is closed.

A `Stall` holds an app message (`message/send`) — after WeCom took it, or before —
until the test releases it, and then drops the connection: what a sender killed
mid-send sees.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.fakes import JsonHandler, serve

ROBOT_IMAGE_BYTES = 2 * 1024 * 1024
INVALID_IMAGE_SIZE = 40009
INVALID_PARAMETER = 40058
MAX_DUPLICATE_CHECK_SECONDS = 4 * 60 * 60


@dataclass
class Stall:
    """Hold an app message (`message/send`) until `release` is set, then drop the
    connection without an answer.

    `skip` app messages go through as usual first (the earlier parts of a long post);
    the next one is held. `taken`: WeCom takes it (in `shown()`, or dropped there as a
    duplicate, as WeCom would) before it holds the call, so the sender dies not knowing
    it went out; otherwise it is never taken. `held` is set once the call is being held,
    so the test knows when to kill the sender. The call is in `sent()` either way.
    """

    taken: bool
    skip: int = 0
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


@dataclass
class FakeWecom:
    base: str = ""
    calls: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)
    tokens_issued: int = 0
    expire_next: bool = False
    robot_limited: int = 0  # answer this many robot posts with 45009
    robot_limited_posts: set[int] = field(default_factory=set)  # or these (1, 2…)
    image_errors: list[int] = field(default_factory=list)  # answer the next image posts so
    violations: list[str] = field(default_factory=list)
    app_outcomes: list[tuple[dict[str, Any], bool]] = field(default_factory=list)
    wrong_secret: bool = False  # gettoken answers 40001, as for a secret that is not the app's
    # An outage: the next message/send or robot posts get these (status, type, body).
    outage: list[tuple[int, str, str]] = field(default_factory=list)
    stall: Stall | None = None  # hold an app message (see `Stall`)
    # The app's trusted IPs do not include the caller: every call but gettoken gets 60020,
    # as for an app created after 2022-06-20 whose 企业可信IP lacks the server's.
    untrusted_ip: bool = False
    blocked: set[str] = field(default_factory=set)  # paths the app may not call (48002)
    rate_limited: int = 0  # answer this many calls after gettoken with 45009
    agent_id: int = 1

    def sent(self) -> list[dict[str, Any]]:
        return [body for path, _, body in self.calls if path == "/cgi-bin/message/send"]

    def shown(self) -> list[dict[str, Any]]:
        """The app messages people saw: with `enable_duplicate_check`, WeCom drops a
        request identical to one it took within `duplicate_check_interval` (at most
        four hours; a longer one is refused)."""
        return [body for body, duplicate in self.app_outcomes if not duplicate]

    def robot(self) -> list[dict[str, Any]]:
        return [body for path, _, body in self.calls if path == "/cgi-bin/webhook/send"]

    def robot_images(self) -> list[bytes]:
        """The pictures the robot was sent (decoded), whether WeCom took them or not."""
        return [
            base64.b64decode(body["image"]["base64"])
            for body in self.robot()
            if body.get("msgtype") == "image"
        ]

    def _refusal(self, path: str, params: dict[str, str]) -> dict[str, Any] | None:
        """What WeCom answers before it looks at the call: the IP, the API, the rate."""
        if path == "/cgi-bin/webhook/send":
            return None  # the group robot's webhook: no app, no trusted IP
        if not params.get("access_token", "").startswith("token-"):
            return {"errcode": 40014, "errmsg": "invalid access_token"}
        if self.untrusted_ip:
            return {"errcode": 60020, "errmsg": "not allow to access from your ip, hint: "
                    "[1700000000000000000000], from ip: 127.0.0.1, more info at "
                    "https://open.work.weixin.qq.com/devtool/query?e=60020"}  # fmt: skip
        if path in self.blocked:
            return {"errcode": 48002, "errmsg": "api forbidden"}
        if self.rate_limited:
            self.rate_limited -= 1
            return {"errcode": 45009, "errmsg": "api freq out of limit"}
        return None

    def _take_app_message(self, body: dict[str, Any]) -> dict[str, Any]:
        interval = int(body.get("duplicate_check_interval", 1800))
        if interval > MAX_DUPLICATE_CHECK_SECONDS:
            self.violations.append(f"message/send: duplicate_check_interval {interval} > 4 h")
            return {"errcode": INVALID_PARAMETER, "errmsg": "invalid duplicate_check_interval"}
        # The fake's test runs in well under the interval: every earlier copy counts.
        duplicate = bool(body.get("enable_duplicate_check")) and any(
            earlier == body for earlier, _ in self.app_outcomes
        )
        self.app_outcomes.append((body, duplicate))
        return {"errcode": 0, "errmsg": "ok"}

    def _image_problem(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """WeCom's answer to a robot image post it refuses (None: it takes it)."""
        image = body.get("image") or {}
        try:
            data = base64.b64decode(str(image.get("base64", "")), validate=True)
        except (binascii.Error, ValueError):
            self.violations.append("robot image: base64 that does not decode")
            return {"errcode": INVALID_PARAMETER, "errmsg": "invalid base64"}
        if not data:
            self.violations.append("robot image: no bytes")
            return {"errcode": INVALID_PARAMETER, "errmsg": "empty image"}
        if image.get("md5") != hashlib.md5(data).hexdigest():
            self.violations.append(f"robot image: md5 {image.get('md5')!r} is not the bytes'")
            return {"errcode": INVALID_PARAMETER, "errmsg": "md5 mismatch"}
        if len(data) > ROBOT_IMAGE_BYTES:
            self.violations.append(f"robot image: {len(data)} bytes, over 2 MB")
            return {"errcode": INVALID_IMAGE_SIZE, "errmsg": "invalid image size"}
        if self.image_errors:
            code = self.image_errors.pop(0)
            return {"errcode": code, "errmsg": "image refused"}
        return None


@contextmanager
def fake_wecom() -> Iterator[FakeWecom]:
    fake = FakeWecom()
    lock = threading.Lock()

    class Handler(JsonHandler):
        def _route(self, body: dict[str, Any]) -> dict[str, Any]:
            url = urlparse(self.path)
            params = {key: values[0] for key, values in parse_qs(url.query).items()}
            with lock:
                fake.calls.append((url.path, params, body))
                if url.path == "/cgi-bin/gettoken":
                    if fake.wrong_secret:
                        return {"errcode": 40001, "errmsg": "invalid credential"}
                    fake.tokens_issued += 1
                    return {
                        "errcode": 0,
                        "access_token": f"token-{fake.tokens_issued}",
                        "expires_in": 7200,
                    }
                refusal = fake._refusal(url.path, params)
                if refusal is not None:
                    return refusal
                if url.path == "/cgi-bin/agent/get":
                    if params.get("agentid") != str(fake.agent_id):
                        return {"errcode": 40056, "errmsg": "invalid agentid"}
                    return {"errcode": 0, "errmsg": "ok", "agentid": fake.agent_id,
                            "name": "opsbot"}  # fmt: skip
                if url.path == "/cgi-bin/message/send":
                    if fake.expire_next:
                        fake.expire_next = False
                        return {"errcode": 42001, "errmsg": "access_token expired"}
                    return fake._take_app_message(body)
                if url.path == "/cgi-bin/webhook/send":
                    if fake.robot_limited or len(fake.robot()) in fake.robot_limited_posts:
                        fake.robot_limited = max(fake.robot_limited - 1, 0)
                        return {"errcode": 45009, "errmsg": "api freq out of limit"}
                    if body.get("msgtype") == "image":
                        return fake._image_problem(body) or {"errcode": 0, "errmsg": "ok"}
                    return {"errcode": 0, "errmsg": "ok"}
            return {"errcode": 404, "errmsg": "unknown"}

        def do_GET(self) -> None:
            self.answer(self._route({}))

        def _stall(self, path: str) -> Stall | None:
            """The stall that holds this call, if any (called under the lock)."""
            stall = fake.stall if path == "/cgi-bin/message/send" else None
            if stall is not None and stall.skip > 0:
                stall.skip -= 1
                return None
            if stall is not None:
                fake.stall = None
            return stall

        def _hold(self, stall: Stall, body: dict[str, Any]) -> None:
            """Take the message if WeCom takes it, wait for the test, then hang up."""
            url = urlparse(self.path)
            params = {key: values[0] for key, values in parse_qs(url.query).items()}
            with lock:
                fake.calls.append((url.path, params, body))
                if stall.taken:
                    fake._take_app_message(body)
            stall.held.set()
            stall.release.wait(timeout=120)
            self.close_connection = True  # no answer: the sender never learns the outcome

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            path = urlparse(self.path).path
            with lock:
                stall = self._stall(path)
            if stall is not None:
                self._hold(stall, json.loads(raw or b"{}"))
                return
            with lock:
                sending = path in {"/cgi-bin/message/send", "/cgi-bin/webhook/send"}
                down = fake.outage.pop(0) if sending and fake.outage else None
            if down is not None:
                self.answer_raw(*down)
                return
            self.answer(self._route(json.loads(raw or b"{}")))

    with serve(Handler) as base:
        fake.base = base
        yield fake
    # Reached only when the test itself passed: a picture WeCom would refuse fails it here.
    assert fake.violations == [], f"the bot sent the robot a bad picture: {fake.violations}"
