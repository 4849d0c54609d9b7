"""A fake Slack Web API on 127.0.0.1 (port 0) that records calls, plus request signing.

Point `platforms.slack.api_url` at `FakeSlack.api_url`; `response_url`s handed to the bot
point here too, so what the bot sends back is recorded as well.

File uploads follow Slack's external-upload flow, checked step by step:
`files.getUploadURLExternal` (a filename and a positive length) hands out an upload URL on
this fake and a file id; the POST to that URL must carry exactly `length` bytes;
`files.completeUploadExternal` must name uploaded, not yet completed file ids and a
channel. `files.upload` is retired (`method_deprecated`). Anything out of order is a
violation: it is answered with an error, recorded in `violations`, and fails the test
when the fake is closed.

What Slack took is kept as each conversation's history (`messages`: posts with their
metadata, completed uploads with their files), and `conversations.history` answers from
it as Slack does: it needs a `channel`, gives only messages after `oldest`, newest first,
`limit` a page with a `next_cursor`, and the metadata only with `include_all_metadata`.
A `Stall` holds the next chat.postMessage — after Slack took it, or before — until the
test releases it, and then drops the connection: what a deliverer killed mid-post sees.
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
class Stall:
    """Hold the next chat.postMessage until `release` is set, then drop the connection.

    `taken`: Slack keeps the post (in `delivered` and the history) before it holds the
    call, so the poster dies not knowing it went out; otherwise it is never kept. `held`
    is set once the call is being held, so the test knows when to kill the poster.
    """

    taken: bool
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


@dataclass
class FakeSlack:
    base: str = ""
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    rate_limit_next: int = 0  # answer this many chat.postMessage calls with 429
    fail_posts: set[int] = field(default_factory=set)  # these chat.postMessage calls (1, 2…) fail
    # An outage: the next chat.postMessage calls get these (status, content type, body).
    outage: list[tuple[int, str, str]] = field(default_factory=list)
    delivered: list[dict[str, Any]] = field(default_factory=list)  # posts answered ok
    upload_statuses: list[int] = field(default_factory=list)  # answer the next uploads so
    complete_errors: list[str] = field(default_factory=list)  # and the next completions
    issued: dict[str, tuple[str, int]] = field(default_factory=dict)  # id → (filename, length)
    uploaded: dict[str, bytes] = field(default_factory=dict)  # id → the bytes POSTed
    completed: dict[str, dict[str, Any]] = field(default_factory=dict)  # id → the completion
    violations: list[str] = field(default_factory=list)
    # Each conversation's history, oldest first: channel, ts, text, metadata or files.
    messages: list[dict[str, Any]] = field(default_factory=list)
    stall: Stall | None = None  # hold the next chat.postMessage (see `Stall`)
    history_errors: list[str] = field(default_factory=list)  # refuse the next histories so
    _last_ts: float = 0.0

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def response_url(self, name: str) -> str:
        return f"{self.base}/response/{name}"

    def posted(self, method: str = "chat.postMessage") -> list[dict[str, Any]]:
        return [body for name, body in self.calls if name == method]

    def upload_url(self, file_id: str) -> str:
        return f"{self.base}/upload/{file_id}"

    def files(self) -> list[tuple[str, str, bytes]]:
        """(channel, title, bytes) of each completed upload, in the order completed."""
        return [
            (completion["channel_id"], completion["title"], self.uploaded[file_id])
            for file_id, completion in self.completed.items()
        ]

    # -- the history (called under the fake's lock) -----------------------------------------

    def _ts(self) -> str:
        """A new message's ts: Slack's clock, distinct and increasing."""
        self._last_ts = max(time.time(), self._last_ts + 0.000001)
        return f"{self._last_ts:.6f}"

    def _take(self, body: dict[str, Any]) -> str:
        """Keep a post Slack accepted: in `delivered` and its channel's history."""
        self.delivered.append(body)
        found = body.get("metadata")
        if isinstance(found, str):  # a form-encoded call sends it as JSON text
            found = json.loads(found)
        ts = self._ts()
        message = {"channel": body.get("channel"), "ts": ts, "text": body.get("text", "")}
        if found:
            message["metadata"] = found
        self.messages.append(message)
        return ts

    def _history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if self.history_errors:
            return {"ok": False, "error": self.history_errors.pop(0)}
        oldest = float(params.get("oldest") or 0)
        with_metadata = str(params.get("include_all_metadata", "")).lower() in {"1", "true"}
        found = [
            {key: value for key, value in message.items() if key != "channel"}
            for message in reversed(self.messages)
            if message["channel"] == channel and float(message["ts"]) > oldest
        ]
        if not with_metadata:
            found = [{k: v for k, v in message.items() if k != "metadata"} for message in found]
        start = int(params.get("cursor") or 0)
        limit = int(params.get("limit") or 100)
        page, more = found[start : start + limit], start + limit < len(found)
        return {
            "ok": True,
            "messages": page,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    # -- the files.* flow (called under the fake's lock) ----------------------------------

    def _violation(self, text: str) -> dict[str, Any]:
        self.violations.append(text)
        return {"ok": False, "error": "invalid_arguments"}

    def _get_upload_url(self, body: dict[str, Any]) -> dict[str, Any]:
        filename, length = body.get("filename"), str(body.get("length", ""))
        if not filename:
            return self._violation("files.getUploadURLExternal without a filename")
        if not length.isdigit() or int(length) <= 0:
            return self._violation(f"files.getUploadURLExternal with length {length!r}")
        file_id = f"F{len(self.issued) + 1:04d}"
        self.issued[file_id] = (filename, int(length))
        return {"ok": True, "upload_url": self.upload_url(file_id), "file_id": file_id}

    def _upload(self, file_id: str, data: bytes) -> tuple[int, str]:
        if file_id not in self.issued:
            self.violations.append(f"upload to {file_id}, a URL that was never handed out")
            return 404, "not found"
        if file_id in self.uploaded:
            self.violations.append(f"a second upload to {file_id}")
            return 400, "already uploaded"
        if self.upload_statuses:
            return self.upload_statuses.pop(0), "upload failed"
        _, length = self.issued[file_id]
        if len(data) != length:
            self.violations.append(f"upload to {file_id}: {len(data)} bytes, not {length}")
            return 400, "length mismatch"
        self.uploaded[file_id] = data
        return 200, f"OK - {len(data)}"

    def _complete(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            files = json.loads(body.get("files") or "[]")
        except json.JSONDecodeError:
            return self._violation("files.completeUploadExternal: files is not JSON")
        channel = body.get("channel_id") or body.get("channels")
        if not files or not channel:
            return self._violation(f"files.completeUploadExternal of {files} to {channel!r}")
        for item in files:
            file_id = item.get("id")
            if file_id not in self.uploaded or file_id in self.completed:
                state = "completed already" if file_id in self.completed else "not uploaded"
                return self._violation(f"files.completeUploadExternal of {file_id}: {state}")
        if self.complete_errors:
            return {"ok": False, "error": self.complete_errors.pop(0)}
        for item in files:
            self.completed[item["id"]] = {"channel_id": channel, "title": item.get("title", "")}
        shared = [
            {"id": item["id"], "name": self.issued[item["id"]][0], "title": item.get("title", "")}
            for item in files
        ]
        self.messages.append({"channel": channel, "ts": self._ts(), "text": "", "files": shared})
        return {"ok": True, "files": [{"id": item["id"]} for item in files]}


@contextmanager
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    lock = threading.Lock()

    class Handler(JsonHandler):
        def _answer_upload(self, file_id: str, raw: bytes) -> None:
            with lock:
                fake.calls.append((f"/upload/{file_id}", {"bytes": len(raw)}))
                status, text = fake._upload(file_id, raw)
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _hold(self, stall: Stall, body: dict[str, Any]) -> None:
            """Keep the post if Slack takes it, wait for the test, then hang up."""
            if stall.taken:
                with lock:
                    fake._take(body)
            stall.held.set()
            stall.release.wait(timeout=120)
            self.close_connection = True  # no answer: the poster never learns the outcome

        def do_GET(self) -> None:
            path, _, query = self.path.partition("?")
            name = path.removeprefix("/api/")
            params = dict(parse_qsl(query))
            with lock:
                fake.calls.append((name, params))
                answer = fake._history(params) if name == "conversations.history" else None
            self.answer(answer or {"ok": False, "error": "unknown_method"}, 200)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path.startswith("/upload/"):  # raw bytes, not a form: before parsing
                self._answer_upload(self.path.split("?")[0].removeprefix("/upload/"), raw)
                return
            if self.headers.get("Content-Type", "").startswith("application/json"):
                body = json.loads(raw or b"{}")
            else:
                body = dict(parse_qsl(raw.decode()))
            path = self.path.split("?")[0]
            name = path.removeprefix("/api/") if path.startswith("/api/") else path
            with lock:
                fake.calls.append((name, body))
                stall = fake.stall if name == "chat.postMessage" else None
                fake.stall = None if stall is not None else fake.stall
                post = name == "chat.postMessage" and stall is None  # a held post is only held
                history = fake._history(body) if name == "conversations.history" else None
                limited = post and fake.rate_limit_next > 0
                if limited:
                    fake.rate_limit_next -= 1
                failing = post and len(fake.posted()) in fake.fail_posts
                down = fake.outage.pop(0) if post and fake.outage else None
            if stall is not None:
                self._hold(stall, body)
            elif history is not None:
                self.answer(history, 200)
            elif down is not None:
                self.answer_raw(*down)
            elif limited:
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
            elif name == "views.publish":
                view = body.get("view")
                view = json.loads(view) if isinstance(view, str) else view
                if (
                    not body.get("user_id")
                    or not isinstance(view, dict)
                    or view.get("type") != "home"
                    or len(view.get("blocks", [])) > 100
                ):
                    self.answer({"ok": False, "error": "invalid_arguments"}, 200)
                else:
                    self.answer({"ok": True, "view": {"id": "VH1"}}, 200)
            elif name == "views.open":
                problem = _modal_problem(body)
                if problem:
                    self.answer({"ok": False, "error": "invalid_arguments", "detail": problem}, 200)
                else:
                    self.answer({"ok": True, "view": {"id": f"V{len(fake.calls)}"}}, 200)
            elif name == "conversations.open":
                self.answer({"ok": True, "channel": {"id": "D" + body.get("users", "?")}}, 200)
            elif name == "chat.postMessage":
                with lock:
                    ts = fake._take(body)
                self.answer({"ok": True, "channel": body.get("channel"), "ts": ts}, 200)
            elif name.startswith("files."):
                with lock:
                    if name == "files.getUploadURLExternal":
                        answer = fake._get_upload_url(body)
                    elif name == "files.completeUploadExternal":
                        answer = fake._complete(body)
                    else:  # files.upload is retired, and so is anything else
                        fake.violations.append(f"{name} called")
                        answer = {"ok": False, "error": "method_deprecated"}
                self.answer(answer, 200)
            else:
                self.answer({"ok": True}, 200)

    with serve(Handler) as base:
        fake.base = base
        yield fake
    # Reached only when the test itself passed: a wrong upload fails it here.
    assert fake.violations == [], f"the bot broke Slack's upload flow: {fake.violations}"


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


def _modal_problem(body: dict[str, Any]) -> str | None:
    """What Slack's views.open would refuse in a modal (None: it is fine)."""
    view = body.get("view")
    if isinstance(view, str):
        view = json.loads(view)
    if not body.get("trigger_id"):
        return "trigger_id is required"
    if not isinstance(view, dict) or view.get("type") != "modal":
        return "view.type must be modal"
    title = (view.get("title") or {}).get("text", "")
    if not title or len(title) > 24:
        return "view.title must be 1-24 characters"
    if not view.get("callback_id"):
        return "callback_id is required for a view_submission"
    for block in view.get("blocks", []):
        element = block.get("element") or {}
        if block.get("type") != "input" or element.get("type") != "plain_text_input":
            return "blocks must be input blocks with plain_text_input"
        if not (block.get("label") or {}).get("text") or not block.get("block_id"):
            return "an input needs a label and a block_id"
        if "initial_value" in element and not element["initial_value"]:
            return "initial_value must not be empty"
    return None
