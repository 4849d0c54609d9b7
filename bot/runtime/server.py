"""The HTTP server: the chat plug-ins' callbacks, `/healthz` and `/metrics` (Prometheus).

Each plug-in brings its routes (`ChatConnection.routes`), which translate an HTTP request
for the platform's own handler; the server only serves and counts them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

import uvicorn
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.chat.base import HttpRoute
from bot.runtime.app import OpsBot
from storage import outbox as outbox_store
from storage.db import snapshot


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
        with snapshot(self.bot.engine) as session:  # /metrics only reads
            counts = outbox_store.counts(session)
        for status in ("pending", "sending", "sent", "failed"):
            self.outbox.labels(status=status).set(counts.get(status, 0))
        return generate_latest(self.registry)


def build_http_app(bot: OpsBot, routes: Iterable[HttpRoute] = ()) -> Starlette:
    """`/healthz`, `/metrics` and the chat plug-ins' callback routes, each counted."""
    metrics = ServerMetrics(bot)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def prometheus(request: Request) -> Response:
        body = await run_in_threadpool(metrics.render)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    def counted(route: HttpRoute) -> Route:
        async def endpoint(request: Request) -> Response:
            response = await route.endpoint(request)
            metrics.requests.labels(route=route.path, status=str(response.status_code)).inc()
            return response

        return Route(route.path, endpoint, methods=list(route.methods))

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/metrics", prometheus),
            *(counted(route) for route in routes),
        ]
    )


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
