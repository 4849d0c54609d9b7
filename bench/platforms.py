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
from collections.abc import Callable
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


def slack_http(
    directory: Path, *, clients: int, requests: int, rate: float, seconds: float, rounds: int = 1
) -> dict[str, LoadResult]:
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

        def command(text: str) -> Callable[[int], tuple[bytes, dict[str, str], dict[str, str]]]:
            def request(n: int) -> tuple[bytes, dict[str, str], dict[str, str]]:
                body = slash_command(
                    fake, "/topic", text.format(n=n), trigger=f"bench-{time.time_ns()}-{n}"
                )
                return body.encode(), signed_headers(body, secret=SIGNING_SECRET), {}

            return request

        reads, writes = command("list"), command("add 选题 {n} p:wechat t:4 v:3 c:3")

        def fill_backlog() -> None:
            for n in range(BACKLOG):
                bot.say(
                    f"/topic add 选题 {n} #标签 p:wechat t:4 v:3 c:3",
                    team_id="bench",
                    speaker="alice",
                )

        # The comparisons with bare Bolt alternate in rounds, pooled per label, so that
        # the machine's drift from one moment to the next falls on both sides.
        paced = max(1, int(rate * seconds / clients / rounds))
        share = max(1, requests // rounds)
        compared = [
            ("opsbot /topic list (empty)", ports["opsbot"], reads, None, share, None),
            ("bare Bolt", ports["bare Bolt"], reads, None, share, None),
            ("opsbot /topic list (empty)", ports["opsbot"], reads, rate, paced, None),
            ("bare Bolt", ports["bare Bolt"], reads, rate, paced, None),
        ]
        runs = [  # (name, port, request, rate, requests per client, before)
            *(compared * rounds),
            (f"opsbot /topic list ({BACKLOG} topics)", ports["opsbot"], reads, None, requests,
             fill_backlog),
            ("opsbot /topic add", ports["opsbot"], writes, None, requests, None),  # adds topics
        ]  # fmt: skip
        try:
            for port in ports.values():  # warm up
                run_load(f"http://127.0.0.1:{port}/slack/events", reads, clients=2,
                         requests_per_client=20)  # fmt: skip
            for name, port, make_request, per_second, count, before in runs:
                if before is not None:
                    before()
                label = (
                    f"{name}, {per_second:g} req/s" if per_second else f"{name}, {clients} clients"
                )
                result = run_load(
                    f"http://127.0.0.1:{port}/slack/events",
                    make_request,
                    clients=clients,
                    requests_per_client=count,
                    rate_per_second=per_second,
                )
                results[label] = results[label].pooled(result) if label in results else result
        finally:
            ours.stop()
            bare.stop()
            bot.engine.dispose()
    return results


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
