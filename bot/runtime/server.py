"""The HTTP server: platform callbacks, `/healthz` and `/metrics` (Prometheus text).

Starlette routes translate an HTTP request for the platform's own handler (for Slack,
Bolt's two adapter functions) and run it in a worker thread, so a slow request never
stalls the others. For Slack the event loop also keeps the 3-second deadline (see
`bot.slack.adapter.Dispatch`), and runs a command itself when it needs no waiting
(`SlackAdapter.answer_at_once`).
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import TYPE_CHECKING

import uvicorn
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.runtime.app import OpsBot
from storage import outbox as outbox_store
from storage.db import transaction

if TYPE_CHECKING:
    from slack_bolt import BoltRequest, BoltResponse

    from bot.chat.slack.adapter import SlackAdapter


class ServerMetrics:
    def __init__(self, bot: OpsBot) -> None:
        self.bot = bot
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "opsbot_http_requests", "HTTP requests by route and status", ["route", "status"],
            registry=self.registry,
        )  # fmt: skip
        self.outbox = Gauge(
            "opsbot_outbox_items", "Outbox items by status", ["status"], registry=self.registry
        )
        self.started = Gauge(
            "opsbot_start_time_seconds", "When the server started", registry=self.registry
        )
        self.started.set_to_current_time()

    def render(self) -> bytes:
        with transaction(self.bot.engine) as session:
            counts = outbox_store.counts(session)
        for status in ("pending", "sending", "sent", "failed"):
            self.outbox.labels(status=status).set(counts.get(status, 0))
        return generate_latest(self.registry)


def build_http_app(
    bot: OpsBot,
    *,
    slack: SlackAdapter | None = None,
    feishu: object | None = None,
    wecom: object | None = None,
) -> Starlette:
    metrics = ServerMetrics(bot)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def prometheus(request: Request) -> Response:
        body = await run_in_threadpool(metrics.render)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    routes = [Route("/healthz", healthz), Route("/metrics", prometheus)]
    if slack is not None:
        from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response

        async def slack_events(request: Request) -> Response:
            body = await request.body()
            answer = slack.answer_at_once(to_bolt_request(request, body))
            if answer is None:
                answer = await _answer_on_a_thread(slack, to_bolt_request(request, body))
            metrics.requests.labels(route="/slack/events", status=str(answer.status)).inc()
            return to_starlette_response(answer)

        routes.append(Route("/slack/events", slack_events, methods=["POST"]))
    if feishu is not None:

        async def feishu_events(request: Request) -> Response:
            body = await request.body()
            headers = {key.lower(): value for key, value in request.headers.items()}
            status, answer = await run_in_threadpool(feishu.handle_http, headers, body)  # type: ignore[attr-defined]
            metrics.requests.labels(route="/feishu/events", status=str(status)).inc()
            return JSONResponse(answer, status_code=status)

        routes.append(Route("/feishu/events", feishu_events, methods=["POST"]))
    if wecom is not None:

        async def wecom_callback(request: Request) -> Response:
            params = dict(request.query_params)
            if request.method == "GET":
                status, text = await run_in_threadpool(wecom.verify_url, params)  # type: ignore[attr-defined]
            else:
                body = await request.body()
                status, text = await run_in_threadpool(wecom.handle_callback, params, body)  # type: ignore[attr-defined]
            metrics.requests.labels(route="/wecom/callback", status=str(status)).inc()
            return PlainTextResponse(text, status_code=status)

        routes.append(Route("/wecom/callback", wecom_callback, methods=["GET", "POST"]))
    return Starlette(routes=routes)


async def _answer_on_a_thread(slack: SlackAdapter, request: BoltRequest) -> BoltResponse:
    """Run the request on the adapter's command threads; the event loop keeps Slack's
    deadline (see `bot.slack.adapter.Dispatch`)."""
    dispatch = slack.dispatch(request)
    work = asyncio.get_running_loop().run_in_executor(slack.workers, dispatch.run)
    done, _ = await asyncio.wait((work,), timeout=slack.answer_within)
    return work.result() if done else dispatch.give_up()


class BackgroundServer:
    """uvicorn in a thread (for tests and for `opsbot run` next to Socket Mode)."""

    def __init__(self, app: Starlette, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.server = uvicorn.Server(
            uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> int:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the HTTP server did not start")
            time.sleep(0.01)
        return int(self.server.servers[0].sockets[0].getsockname()[1])

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
