"""A fake Feishu Open API on 127.0.0.1 (port 0), and callbacks built the way Feishu builds them."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bot.chat.feishu.crypto import encrypt, signature
from tests.fakes import JsonHandler, serve

ENCRYPT_KEY = "test-encrypt-key"
VERIFICATION_TOKEN = "test-verification-token"


@dataclass
class FakeFeishu:
    base: str = ""
    calls: list[tuple[str, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    tokens_issued: int = 0
    expire_next_token_use: bool = False
    rate_limit_next: int = 0

    def messages(self) -> list[dict[str, Any]]:
        return [
            body for path, body, _ in self.calls if path.startswith("/open-apis/im/v1/messages")
        ]


@contextmanager
def fake_feishu() -> Iterator[FakeFeishu]:
    fake = FakeFeishu()
    lock = threading.Lock()

    class Handler(JsonHandler):
        def _body(self) -> dict[str, Any]:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            return json.loads(raw or b"{}")

        def do_GET(self) -> None:
            fake.calls.append((self.path, {}, dict(self.headers)))
            if self.path.startswith("/open-apis/contact/v3/users/"):
                open_id = self.path.split("/")[-1].split("?")[0]
                self.answer(
                    {
                        "code": 0,
                        "data": {"user": {"name": {"ou_new": "Erin"}.get(open_id, "Someone")}},
                    }
                )
            else:
                self.answer({"code": 0, "data": {}})

        def do_POST(self) -> None:
            body = self._body()
            path = self.path.split("?")[0]
            with lock:
                fake.calls.append((self.path, body, dict(self.headers)))
                if path == "/open-apis/auth/v3/tenant_access_token/internal":
                    fake.tokens_issued += 1
                    self.answer(
                        {
                            "code": 0,
                            "tenant_access_token": f"t-{fake.tokens_issued}",
                            "expire": 7200,
                        }
                    )
                    return
                if fake.expire_next_token_use:
                    fake.expire_next_token_use = False
                    self.answer(
                        {"code": 99991663, "msg": "Invalid access token for authorization."}, 400
                    )
                    return
                if fake.rate_limit_next:
                    fake.rate_limit_next -= 1
                    self.answer(
                        {"code": 99991400, "msg": "request trigger frequency limit"},
                        429,
                        {"x-ogw-ratelimit-reset": "2"},
                    )
                    return
            self.answer({"code": 0, "data": {"message_id": f"om_{time.time_ns()}"}})

    with serve(Handler) as base:
        fake.base = base
        yield fake


def sealed(
    payload: dict[str, Any], *, key: str = ENCRYPT_KEY, sign_with: str | None = None
) -> tuple[bytes, dict[str, str]]:
    """An encrypted, signed callback body and its headers, as Feishu sends them."""
    body = json.dumps(
        {"encrypt": encrypt(json.dumps(payload, ensure_ascii=False), key, os.urandom(16))}
    ).encode()
    timestamp, nonce = str(int(time.time())), "nonce-123"
    headers = {
        "Content-Type": "application/json",
        "X-Lark-Request-Timestamp": timestamp,
        "X-Lark-Request-Nonce": nonce,
        "X-Lark-Signature": signature(timestamp, nonce, sign_with or key, body),
    }
    return body, headers


def message_event(text: str, *, open_id: str = "ou_alice", chat_id: str = "oc_123", chat_type: str = "group",
                  mentions: list[dict[str, Any]] | None = None, event_id: str | None = None,
                  token: str = VERIFICATION_TOKEN) -> dict[str, Any]:  # fmt: skip
    return {
        "schema": "2.0",
        "header": {"event_id": event_id or f"ev-{time.time_ns()}", "event_type": "im.message.receive_v1",
                   "token": token, "create_time": str(int(time.time() * 1000)), "app_id": "cli_test"},
        "event": {
            "sender": {"sender_id": {"open_id": open_id}, "sender_type": "user"},
            "message": {"message_id": f"om_in_{time.time_ns()}", "chat_id": chat_id, "chat_type": chat_type,
                        "message_type": "text", "content": json.dumps({"text": text}, ensure_ascii=False),
                        "mentions": mentions or []},
        },
    }  # fmt: skip


def card_action(
    command: str, *, open_id: str = "ou_bob", chat_id: str = "oc_123"
) -> dict[str, Any]:
    return {
        "schema": "2.0",
        "header": {"event_id": f"ev-{time.time_ns()}", "event_type": "card.action.trigger",
                   "token": VERIFICATION_TOKEN, "app_id": "cli_test"},
        "event": {"operator": {"open_id": open_id}, "action": {"tag": "button", "value": {"command": command}},
                  "context": {"open_message_id": "om_card", "open_chat_id": chat_id}},
    }  # fmt: skip
