"""`opsbot run` stopped with SIGTERM, as `docker stop` stops it, while it is sending an
outbox item: the server stops taking requests at once, the item being sent is finished
(and recorded as sent), the next one is not begun, and the process exits 0 well within
10 s. Started again, it sends the next one; Slack has each post exactly once.

The bot is a real process on a SQLite file, its Slack sender pointed at a fake Slack on
127.0.0.1 that holds the first post until the test lets it through, then answers it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qsl
from urllib.request import urlopen

import pytest
import yaml
from sqlmodel import select

from bot.core.clock import FrozenClock
from bot.core.messages import Reply, reply_to_dict
from bot.runtime.app import OpsBot
from bot.runtime.cli import EXIT_FAILURE, EXIT_OK, STOP_WITHIN_SECONDS, _Stopping
from storage import outbox as outbox_store
from storage.db import transaction
from storage.models import OutboxItem
from tests.conftest import make_settings
from tests.fakes import JsonHandler, serve

CHANNEL = "C0123"
MEMBERS = [{"id": "alice", "name": "Alice", "role": "admin", "slack": "U01"}]
# A Sunday night: no scheduled job is due, so the outbox holds only what the test put there.
NOW = datetime.fromisoformat("2026-11-29T03:00:00+08:00")
POSTS = {
    "content:digest:2026-11-27:slack:team": "早报",
    "content:note:2026-11-29:slack:team": "提醒",
}
WAIT = 30.0  # for a process to start or a post to arrive: generous, only polled


@dataclass
class SlowSlack:
    """chat.postMessage, the first one held until `release` is set, then answered ok."""

    base: str = ""
    posts: list[str] = field(default_factory=list)  # the texts Slack took, in order
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


@contextmanager
def slow_slack() -> Iterator[SlowSlack]:
    fake = SlowSlack()
    lock = threading.Lock()

    class Handler(JsonHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            json_body = self.headers.get("Content-Type", "").startswith("application/json")
            body = json.loads(raw or b"{}") if json_body else dict(parse_qsl(raw.decode()))
            if self.path.split("?")[0] != "/api/chat.postMessage":
                self.answer({"ok": True})
                return
            with lock:
                first = not fake.held.is_set()
                fake.held.set()
            if first:
                fake.release.wait(timeout=60)
            with lock:
                fake.posts.append(body.get("text", ""))
                ts = f"{time.time():.6f}"
            self.answer({"ok": True, "channel": body.get("channel"), "ts": ts})

    with serve(Handler) as base:
        fake.base = base
        try:
            yield fake
        finally:
            fake.release.set()


class Run:
    """`opsbot run` as a process, its stderr read as it comes."""

    def __init__(self, workdir: Path) -> None:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("OPSBOT_")}
        environment |= {"OPSBOT_LOG_LEVEL": "INFO", "OPSBOT_NOW": NOW.isoformat()}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--config", "config.yaml"],
            cwd=workdir, env=environment, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def line(self, words: str) -> str:
        """The first line of stderr with `words` in it, waited for."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            found = next((line for line in self.lines if words in line), None)
            if found is not None:
                return found
            assert self.process.poll() is None, "\n".join(self.lines)
            time.sleep(0.02)
        raise AssertionError(f"no line with {words!r} in:\n" + "\n".join(self.lines))

    def port(self) -> int:
        return int(self.line("listening on http://").rsplit(":", 1)[1])

    def stop(self) -> tuple[int, float]:
        """SIGTERM; the exit status and how long it took (the test fails after 10 s)."""
        self.process.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        try:
            status = self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(
                "not stopped 10 s after SIGTERM:\n" + "\n".join(self.lines)
            ) from None
        return status, time.monotonic() - sent

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def slack() -> Iterator[SlowSlack]:
    with slow_slack() as fake:
        yield fake


@pytest.fixture
def workdir(tmp_path: Path, slack: SlowSlack) -> Path:
    """A config with Slack over HTTP (on a free port), and two posts in the outbox."""
    url = f"sqlite:///{tmp_path / 'opsbot.db'}"
    slack_section = {"bot_token": "xoxb-test", "signing_secret": "s", "mode": "http",
                     "api_url": f"{slack.base}/api/"}  # fmt: skip
    team = {"id": "content", "name": "内容组", "members": MEMBERS, "channels": {"slack": CHANNEL}}
    config = {"locale": "zh-CN", "storage": {"url": url}, "server": {"host": "127.0.0.1", "port": 0},
              "platforms": {"slack": slack_section}, "teams": [team]}  # fmt: skip
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    bot = OpsBot.open(make_settings(url, team={"members": MEMBERS}), FrozenClock(NOW))
    with transaction(bot.engine) as session:
        for key, text in POSTS.items():
            outbox_store.enqueue(
                session, team_id="content", key=key, platform="slack", target="team",
                kind="digest", payload=reply_to_dict(Reply(text)), now=NOW,
            )  # fmt: skip
    bot.engine.dispose()
    return tmp_path


def outbox(workdir: Path) -> dict[str, tuple[str, int]]:
    """Each post's status and tries, read from the file as the next start will read it."""
    bot = OpsBot.open(make_settings(f"sqlite:///{workdir / 'opsbot.db'}"), FrozenClock(NOW))
    try:
        with transaction(bot.engine) as session:
            rows = session.exec(select(OutboxItem)).all()
            return {row.idempotency_key: (row.status, row.attempts) for row in rows}
    finally:
        bot.engine.dispose()


def refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except OSError:
        return True


def test_sigterm_mid_delivery_finishes_the_post_and_exits_0(
    workdir: Path, slack: SlowSlack
) -> None:
    first, second = POSTS
    run = Run(workdir)
    try:
        port = run.port()
        with urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            assert answer.status == 200
        assert slack.held.wait(timeout=WAIT), "the first post never reached Slack"

        run.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        run.line("SIGTERM: stopping")
        deadline = time.monotonic() + 5
        while not refused(port):  # no new request is taken, while the post is still held
            assert time.monotonic() < deadline, "the server still listens after SIGTERM"
            time.sleep(0.02)
        assert run.process.poll() is None  # it waits for the post in flight
        slack.release.set()
        status = run.process.wait(timeout=10)
        elapsed = time.monotonic() - signalled
    finally:
        run.kill()

    assert status == EXIT_OK, "\n".join(run.lines)
    assert elapsed < 10
    assert slack.posts == ["早报"]  # the one in flight went out; the next was not begun
    assert outbox(workdir) == {first: ("sent", 1), second: ("pending", 0)}
    assert not [line for line in run.lines if " ERROR " in line or "Traceback" in line]

    again = Run(workdir)
    try:
        deadline = time.monotonic() + WAIT
        while len(slack.posts) < 2:
            assert time.monotonic() < deadline, "\n".join(again.lines)
            time.sleep(0.02)
        status, elapsed = again.stop()
    finally:
        again.kill()

    assert (status, elapsed < 10) == (EXIT_OK, True), "\n".join(again.lines)
    assert slack.posts == ["早报", "提醒"]  # each once
    assert outbox(workdir) == {first: ("sent", 1), second: ("sent", 1)}


class _Server:
    def __init__(self) -> None:
        self.stopped = False

    def stop_soon(self) -> None:
        self.stopped = True


def test_what_is_still_busy_at_the_deadline_does_not_hold_the_exit() -> None:
    """The watchdog: exit 0 once the time is up, whatever is still in flight; a second
    signal exits at once, with 1."""
    exits: list[int] = []
    exited = threading.Event()

    def exit_now(status: int) -> None:
        exits.append(status)
        exited.set()

    stopping = _Stopping(within=0.01, exit_now=exit_now)
    server = _Server()
    stopping.server = server  # type: ignore[assignment]
    assert not stopping.requested()

    stopping.handle(signal.SIGTERM)

    assert stopping.requested() and server.stopped
    assert exited.wait(timeout=10)
    assert exits == [EXIT_OK]
    stopping.handle(signal.SIGTERM)
    assert exits == [EXIT_OK, EXIT_FAILURE]
    assert STOP_WITHIN_SECONDS < 10  # inside `docker stop`'s grace period
