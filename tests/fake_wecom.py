"""A fake WeCom API on 127.0.0.1 (port 0): gettoken, message/send and the group robot."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.fakes import JsonHandler, serve


@dataclass
class FakeWecom:
    base: str = ""
    calls: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)
    tokens_issued: int = 0
    expire_next: bool = False
    robot_limited: int = 0  # answer this many robot posts with 45009
    robot_limited_posts: set[int] = field(default_factory=set)  # or these (1, 2…)

    def sent(self) -> list[dict[str, Any]]:
        return [body for path, _, body in self.calls if path == "/cgi-bin/message/send"]

    def robot(self) -> list[dict[str, Any]]:
        return [body for path, _, body in self.calls if path == "/cgi-bin/webhook/send"]


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
                    fake.tokens_issued += 1
                    return {
                        "errcode": 0,
                        "access_token": f"token-{fake.tokens_issued}",
                        "expires_in": 7200,
                    }
                if url.path == "/cgi-bin/message/send":
                    if fake.expire_next:
                        fake.expire_next = False
                        return {"errcode": 42001, "errmsg": "access_token expired"}
                    return {"errcode": 0, "errmsg": "ok"}
                if url.path == "/cgi-bin/webhook/send":
                    if fake.robot_limited or len(fake.robot()) in fake.robot_limited_posts:
                        fake.robot_limited = max(fake.robot_limited - 1, 0)
                        return {"errcode": 45009, "errmsg": "api freq out of limit"}
                    return {"errcode": 0, "errmsg": "ok"}
            return {"errcode": 404, "errmsg": "unknown"}

        def do_GET(self) -> None:
            self.answer(self._route({}))

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.answer(self._route(json.loads(raw or b"{}")))

    with serve(Handler) as base:
        fake.base = base
        yield fake
