"""A fake Slack Web API on 127.0.0.1 (port 0) that records calls, plus request signing.

Point `platforms.slack.api_url` at `FakeSlack.api_url`; `response_url`s handed to the bot
point here too, so what the bot sends back is recorded as well.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from tests.fakes import JsonHandler, serve

SIGNING_SECRET = "test-signing-secret"


@dataclass
class FakeSlack:
    base: str = ""
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    rate_limit_next: int = 0  # answer this many chat.postMessage calls with 429
    fail_posts: set[int] = field(default_factory=set)  # these chat.postMessage calls (1, 2…) fail

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def response_url(self, name: str) -> str:
        return f"{self.base}/response/{name}"

    def posted(self, method: str = "chat.postMessage") -> list[dict[str, Any]]:
        return [body for name, body in self.calls if name == method]


@contextmanager
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    lock = threading.Lock()

    class Handler(JsonHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Content-Type", "").startswith("application/json"):
                body = json.loads(raw or b"{}")
            else:
                body = dict(parse_qsl(raw.decode()))
            path = self.path.split("?")[0]
            name = path.removeprefix("/api/") if path.startswith("/api/") else path
            with lock:
                fake.calls.append((name, body))
                limited = name == "chat.postMessage" and fake.rate_limit_next > 0
                if limited:
                    fake.rate_limit_next -= 1
                failing = name == "chat.postMessage" and len(fake.posted()) in fake.fail_posts
            if limited:
                self.answer({"ok": False, "error": "ratelimited"}, 429, {"Retry-After": "1"})
            elif failing:
                self.answer({"ok": False, "error": "internal_error"}, 200)
            elif name == "auth.test":
                self.answer(
                    {
                        "ok": True,
                        "team": "Acme",
                        "user": "opsbot",
                        "user_id": "UBOT",
                        "bot_id": "B1",
                    },
                    200,
                )
            elif name == "conversations.open":
                self.answer({"ok": True, "channel": {"id": "D" + body.get("users", "?")}}, 200)
            elif name == "chat.postMessage":
                self.answer(
                    {"ok": True, "channel": body.get("channel"), "ts": f"{time.time():.6f}"}, 200
                )
            else:
                self.answer({"ok": True}, 200)

    with serve(Handler) as base:
        fake.base = base
        yield fake


def signed_headers(
    body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    """Headers of a request signed the way Slack signs them (v0, HMAC-SHA256)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def slash_command(fake: FakeSlack, command: str, text: str, *, user: str = "U01", name: str = "alice",
                  channel: str = "C0123", trigger: str | None = None) -> str:  # fmt: skip
    return urlencode(
        {
            "token": "legacy",
            "team_id": "T1",
            "channel_id": channel,
            "user_id": user,
            "user_name": name,
            "command": command,
            "text": text,
            "api_app_id": "A1",
            "response_url": fake.response_url(trigger or "cmd"),
            "trigger_id": trigger or f"trigger-{time.time_ns()}",
        }
    )


def button_click(
    fake: FakeSlack, value: str, *, user: str = "U02", name: str = "bob", channel: str = "C0123"
) -> str:
    payload = {
        "type": "block_actions", "api_app_id": "A1", "team": {"id": "T1"},
        "user": {"id": user, "username": name}, "channel": {"id": channel},
        "trigger_id": f"trigger-{time.time_ns()}", "response_url": fake.response_url("button"),
        "container": {"type": "message", "message_ts": "1.0"},
        "actions": [{"type": "button", "action_id": "opsbot_run_0", "value": value, "action_ts": "1.1"}],
    }  # fmt: skip
    return urlencode({"payload": json.dumps(payload)})
