"""Benchmarks of the platform endpoints over loopback HTTP, and of the process itself."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from slack_bolt import App
from slack_sdk import WebClient
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.http_load import LoadResult, run_load
from bot.core.clock import SystemClock
from bot.core.config import Settings
from bot.runtime.app import OpsBot
from bot.runtime.server import BackgroundServer, build_http_app
from bot.runtime.settings import settings_from
from bot.runtime.wiring import connect_chat_platforms

SIGNING_SECRET = "bench-signing-secret"
BACKLOG = 15  # open topics in the list of the second reading run: a team's usual backlog


def _settings(url: str, platforms: dict, channels: dict) -> Settings:
    members = [
        {"id": "alice", "role": "admin", "slack": "U01", "feishu": "ou_alice", "wecom": "alice"}
    ]
    team = {"id": "bench", "name": "Bench", "members": members, "channels": channels}
    return settings_from({"storage": {"url": url}, "platforms": platforms, "teams": [team]})


def bare_bolt_app(api_url: str) -> Starlette:
    """The floor: a Bolt app whose handler only acks a constant, at Bolt's fastest setting,
    behind the same Starlette route as opsbot's."""
    from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response

    app = App(
        signing_secret=SIGNING_SECRET, process_before_response=True,
        token_verification_enabled=False, client=WebClient(token="xoxb-bench", base_url=api_url),
    )  # fmt: skip
    app.command(re.compile(".*"))(lambda ack: ack("ok"))

    async def events(request: Request) -> Response:
        body = await request.body()
        return to_starlette_response(
            await run_in_threadpool(app.dispatch, to_bolt_request(request, body))
        )

    return Starlette(routes=[Route("/slack/events", events, methods=["POST"])])


MIX = ("topic list", "task add 任务 {n} q1 ~1h", "topic add 选题 {n} p:wechat t:4 v:3 c:3",
       "publish today")  # fmt: skip
GROWN_TOPICS, GROWN_TASKS = 1_000, 5_000


def slack_http(
    directory: Path, *, clients: int, requests: int, rate: float, seconds: float, rounds: int = 1
) -> dict[str, LoadResult]:
    """The Slack mix (`/ops topic list`, `task add`, `topic add`, `publish today` in turn)
    against a bare Bolt app that only acknowledges, alternating in rounds; then the same
    mix once the backlog has grown to 1,000 open topics and 5,000 tasks, alternating too."""
    from tests.fake_slack import fake_slack, signed_headers, slash_command

    results: dict[str, LoadResult] = {}
    with fake_slack() as fake:
        platforms = {
            "slack": {
                "bot_token": "xoxb-bench",
                "signing_secret": SIGNING_SECRET,
                "mode": "http",
                "api_url": fake.api_url,
            }
        }
        bot = OpsBot.open(
            _settings(f"sqlite:///{directory / 'slack.db'}", platforms, {"slack": "C1"}),
            SystemClock(),
        )
        ours = BackgroundServer(build_http_app(bot, connect_chat_platforms(bot).routes()))
        bare = BackgroundServer(bare_bolt_app(fake.api_url))
        ports = {"opsbot": ours.start(), "bare Bolt": bare.start()}

        def mix(n: int) -> tuple[bytes, dict[str, str], dict[str, str]]:
            text = MIX[n % len(MIX)].format(n=n)
            body = slash_command(fake, "/ops", text, trigger=f"bench-{time.time_ns()}-{n}")
            return body.encode(), signed_headers(body, secret=SIGNING_SECRET), {}

        paced = max(1, int(rate * seconds / clients / rounds))
        share = max(1, requests // rounds)

        def compared(stage: str) -> list[tuple[str, int, float | None, int]]:
            return [
                (f"opsbot Slack mix ({stage})", ports["opsbot"], None, share),
                (f"bare Bolt ({stage})", ports["bare Bolt"], None, share),
            ]

        def run(runs: list[tuple[str, int, float | None, int]]) -> None:
            for name, port, per_second, count in runs:
                label = (
                    f"{name}, {per_second:g} req/s" if per_second else f"{name}, {clients} clients"
                )
                result = run_load(
                    f"http://127.0.0.1:{port}/slack/events", mix, clients=clients,
                    requests_per_client=count, rate_per_second=per_second,
                )  # fmt: skip
                results[label] = results[label].pooled(result) if label in results else result

        try:
            for port in ports.values():  # warm up
                run_load(f"http://127.0.0.1:{port}/slack/events", mix, clients=2,
                         requests_per_client=20)  # fmt: skip
            # Alternating rounds, pooled per label: the machine's drift falls on both sides.
            run(compared("empty") * rounds)
            run([("opsbot Slack mix (empty)", ports["opsbot"], rate, paced),
                 ("bare Bolt (empty)", ports["bare Bolt"], rate, paced)])  # fmt: skip
            grow_backlog(bot, "bench")
            run(compared(f"{GROWN_TOPICS:,} topics, {GROWN_TASKS:,} tasks") * rounds)
        finally:
            ours.stop()
            bare.stop()
            bot.engine.dispose()
    return results


def grow_backlog(bot: OpsBot, team_id: str) -> None:
    """1,000 open topics and 5,000 tasks over the last weeks, written in bulk."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert

    from storage.db import transaction
    from storage.models import Task, Topic

    now = datetime.now(UTC)
    topics = [
        {"team_id": team_id, "title": f"积压选题 {n}", "tags": ["标签"], "platform": "wechat",
         "timeliness": 1 + n % 5, "value": 1 + n % 4, "conversion": 3, "score": 1 + n % 5,
         "priority": ("high", "mid", "low")[n % 3], "status": "idea", "hot": False,
         "created_by": "alice", "created_at": now, "updated_at": now}
        for n in range(GROWN_TOPICS)
    ]  # fmt: skip
    tasks = [
        {"team_id": team_id, "owner": ("alice", "bob")[n % 2], "text": f"积压任务 {n}",
         "quadrant": f"q{n % 4 + 1}", "estimate_minutes": 30,
         "day": (now - timedelta(days=1 + n % 60)).date(), "status": "done",
         "created_by": "alice", "created_at": now, "updated_at": now}
        for n in range(GROWN_TASKS)
    ]  # fmt: skip
    with transaction(bot.engine) as session:
        session.execute(insert(Topic), topics)
        session.execute(insert(Task), tasks)


def feishu_and_wecom(directory: Path, *, clients: int, requests: int) -> dict[str, LoadResult]:
    from tests.fake_feishu import (
        ENCRYPT_KEY,
        VERIFICATION_TOKEN,
        fake_feishu,
        message_event,
        sealed,
    )
    from tests.fake_wecom import fake_wecom

    results: dict[str, LoadResult] = {}
    total = clients * requests
    with fake_feishu() as feishu_api, fake_wecom() as wecom_api:
        platforms = {
            "feishu": {"app_id": "cli", "app_secret": "s", "verification_token": VERIFICATION_TOKEN,
                       "encrypt_key": ENCRYPT_KEY, "mode": "http", "base_url": feishu_api.base},
            "wecom": {"corp_id": "wxbench", "agent_id": 1, "secret": "s", "token": "tok",
                      "encoding_aes_key": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "base_url": wecom_api.base},
        }  # fmt: skip
        bot = OpsBot.open(
            _settings(f"sqlite:///{directory / 'cn.db'}", platforms, {"feishu": "oc_1"}),
            SystemClock(),
        )
        events = ThreadPoolExecutor(8, thread_name_prefix="chat-event")
        connected = connect_chat_platforms(bot, events)
        wecom = connected.connections["wecom"].adapter  # type: ignore[attr-defined]
        server = BackgroundServer(build_http_app(bot, connected.routes()))
        port = server.start()
        feishu_requests = [
            sealed(message_event("/topic list", event_id=f"bench-{n}")) for n in range(total + 40)
        ]
        wecom_requests = []
        for n in range(total + 40):
            xml = (f"<xml><ToUserName>wxbench</ToUserName><FromUserName>alice</FromUserName><CreateTime>{n}</CreateTime>"
                   f"<MsgType>text</MsgType><Content>/topic list</Content><MsgId>{n}</MsgId></xml>")  # fmt: skip
            encrypted = wecom.crypto.encrypt(xml)
            stamp, nonce = str(int(time.time())), str(n)
            params = {
                "msg_signature": wecom.crypto.signature(stamp, nonce, encrypted),
                "timestamp": stamp,
                "nonce": nonce,
            }
            wecom_requests.append(
                (f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode(), {}, params)
            )
        try:
            results[f"Feishu /feishu/events (encrypted), {clients} clients"] = run_load(
                f"http://127.0.0.1:{port}/feishu/events", lambda n: (*feishu_requests[n], {}),
                clients=clients, requests_per_client=requests,
            )  # fmt: skip
            results[f"WeCom /wecom/callback (encrypted), {clients} clients"] = run_load(
                f"http://127.0.0.1:{port}/wecom/callback", lambda n: wecom_requests[n],
                clients=clients, requests_per_client=requests,
            )  # fmt: skip
        finally:
            server.stop()
            events.shutdown(wait=True)  # answer the backlog while the fakes still listen
            bot.engine.dispose()
    return results


def footprint() -> tuple[float, float]:
    """(seconds from start to /healthz answering, peak RSS in MiB) of `opsbot run` with
    Slack (HTTP mode), Feishu and WeCom configured."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    folder = Path(tempfile.mkdtemp())
    config = {
        "storage": {"url": f"sqlite:///{folder / 'run.db'}"},
        "server": {"host": "127.0.0.1", "port": port},
        "platforms": {
            "slack": {"bot_token": "xoxb-x", "signing_secret": "s", "mode": "http", "api_url": "http://127.0.0.1:9/api/"},
            "feishu": {"app_id": "cli", "app_secret": "s", "mode": "http", "base_url": "http://127.0.0.1:9"},
            "wecom": {"corp_id": "wx", "agent_id": 1, "secret": "s", "token": "t",
                      "encoding_aes_key": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "base_url": "http://127.0.0.1:9"},
        },
        "teams": [{"id": "bench", "channels": {"slack": "C1", "feishu": "oc_1", "wecom": "robot"}}],
    }  # fmt: skip
    (folder / "config.yaml").write_text(json.dumps(config), encoding="utf-8")
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--config", str(folder / "config.yaml")],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "OPSBOT_LOG_LEVEL": "ERROR"},
    )  # fmt: skip
    try:
        ready = float("nan")
        while time.perf_counter() - started < 60:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    ready = time.perf_counter() - started
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        for _ in range(20):
            httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        status = Path(f"/proc/{process.pid}/status").read_text()
        peak_kib = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
        return ready, peak_kib / 1024
    finally:
        process.terminate()
        process.wait(timeout=20)
