"""The HTTP server: the chat plug-ins' callbacks, `/healthz` and `/metrics` (Prometheus).

Each plug-in brings its routes (`ChatConnection.routes`), which translate an HTTP request
for the platform's own handler; the server only serves and counts them.

The callbacks are open to the internet, so the server bounds what an unauthenticated
client can cost it (`ServerLimits`): a body over `max_body_bytes` is answered 413 before
it is read whole (`BodyLimit`, by `Content-Length` and by counting a chunked body); a body
that has not arrived within `body_seconds` is answered 408; a connection whose request
headers have not arrived within `header_seconds` is closed (`_GuardedHttpToolsProtocol`,
as uvicorn has no such timeout of its own); idle keep-alive connections close after
`keep_alive_seconds`; request headers over `max_header_bytes` get 431; and
beyond `max_concurrency` connections uvicorn answers 503. `server_config` puts these into
the one `uvicorn.Config` that both `opsbot run` and `BackgroundServer` use.

When it is asked to stop (`BackgroundServer.stop_soon`: `opsbot run` on SIGTERM) the
server stops listening, closes idle connections, and gives the requests in flight
`drain_seconds` to be answered before it cancels them.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import uvicorn
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from bot.chat.base import HttpRoute
from bot.runtime.app import OpsBot
from storage import outbox as outbox_store
from storage.db import snapshot

log = logging.getLogger(__name__)
CALENDAR_ROUTE = "/calendar/{team}.ics"  # the team's iCalendar feed, behind its token


@dataclass(frozen=True)
class ServerLimits:
    """What one client may cost the server; the defaults are for `opsbot run`.

    The platforms' callbacks are small (a slash command, an encrypted event: a few KB),
    answered within seconds, and come from a few platform servers, so the bounds can be
    tight without refusing anything real.
    """

    max_body_bytes: int = 1024 * 1024
    body_seconds: float = 10.0
    header_seconds: float = 10.0
    keep_alive_seconds: int = 5
    max_header_bytes: int = 16 * 1024
    max_concurrency: int = 500
    drain_seconds: int = 5  # at a stop, for the requests in flight (Slack's answer takes 2 s)


class _Refused(Exception):
    """Raised out of `BodyLimit`'s `receive` to unwind the route; answered by `BodyLimit`."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class BodyLimit:
    """ASGI middleware: a request body over `max_bytes` gets 413, one slower than
    `seconds` in total gets 408, both without the route seeing more than `max_bytes`;
    request headers over `max_header_bytes` in all get 431.

    The protocol bounds a head that arrives in pieces, as it arrives; one that arrives
    whole in one read is parsed whatever its size, hence the header check here.

    A declared `Content-Length` over the limit is refused before a byte of the body is
    read; a chunked body (or one that lies about its length) is counted as it streams,
    and the route's `receive` raises once the count passes the limit, so at most the
    limit (plus the one chunk uvicorn just read) is ever held. The answer carries
    `Connection: close`: the rest of the body is never read, so the connection cannot
    be reused.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        seconds: float,
        max_header_bytes: int,
        refused: Callable[[str, int], None] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.seconds = seconds
        self.max_header_bytes = max_header_bytes
        self.refused = refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            self._check_head(scope)
        except _Refused as refusal:
            await self._refuse(scope, send, refusal)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.seconds
        received = 0
        body_done = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, body_done
            if body_done:  # after the body: only `http.disconnect` is left, no deadline
                return await receive()
            try:
                # A timeout on this task, not `wait_for`'s new task for every message.
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise _Refused(408, f"body not received within {self.seconds:g} s") from None
            if message["type"] != "http.request":
                body_done = True
                return message
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise _Refused(413, f"body over {self.max_bytes} bytes")
            body_done = not message.get("more_body", False)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracked_send)
        except _Refused as refusal:
            if started:  # cannot happen with our routes (they read, then answer)
                log.warning("%s after the answer began: %s", scope["path"], refusal.reason)
                return
            await self._refuse(scope, send, refusal)

    def _check_head(self, scope: Scope) -> None:
        if sum(len(name) + len(value) for name, value in scope["headers"]) > self.max_header_bytes:
            raise _Refused(431, f"headers over {self.max_header_bytes} bytes")
        for name, value in scope["headers"]:
            if name != b"content-length":
                continue
            # httptools has checked the syntax already; this guards other servers too.
            if not value.isdigit():
                raise _Refused(400, "malformed Content-Length")
            if int(value) > self.max_bytes:
                raise _Refused(413, f"Content-Length over {self.max_bytes} bytes")

    async def _refuse(self, scope: Scope, send: Send, refusal: _Refused) -> None:
        log.warning("refused %s %s: %s", scope["method"], scope["path"], refusal.reason)
        if self.refused is not None:
            self.refused(scope["path"], refusal.status)
        response = JSONResponse(
            {"error": refusal.reason}, status_code=refusal.status, headers={"Connection": "close"}
        )
        await response(scope, _no_body, send)


async def _no_body() -> Message:
    """The `receive` given to a refusal's response: it never reads the request body."""
    return {"type": "http.disconnect"}


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


def build_http_app(
    bot: OpsBot, routes: Iterable[HttpRoute] = (), *, limits: ServerLimits | None = None
) -> Starlette:
    """`/healthz`, `/metrics` and the chat plug-ins' callback routes, each counted, behind
    `BodyLimit` (a refused body is counted under its route too)."""
    limits = limits or ServerLimits()
    metrics = ServerMetrics(bot)
    routes = list(routes)
    known = {"/healthz", "/metrics", *(route.path for route in routes)}

    def count_refusal(path: str, status: int) -> None:
        # Only known paths become labels: a client must not create time series at will.
        label = path if path in known else "other"
        metrics.requests.labels(route=label, status=str(status)).inc()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def prometheus(request: Request) -> Response:
        body = await run_in_threadpool(metrics.render)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    async def calendar_feed(request: Request) -> Response:
        """The team's iCalendar feed (bot/runtime/calendar_feed.py): 404 for a wrong or
        missing token, the same as for no such team."""
        from bot.runtime.calendar_feed import served_feed

        team, token = request.path_params["team"], request.query_params.get("token", "")
        body = await run_in_threadpool(served_feed, bot, team, token)
        status = 404 if body is None else 200
        metrics.requests.labels(route=CALENDAR_ROUTE, status=str(status)).inc()
        if body is None:
            return Response("Not Found", status_code=404, media_type="text/plain")
        headers = {"Cache-Control": "private, max-age=300"}
        return Response(body, media_type="text/calendar; charset=utf-8", headers=headers)

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
            Route(CALENDAR_ROUTE, calendar_feed, methods=["GET"]),
            *(counted(route) for route in routes),
        ],
        middleware=[
            Middleware(
                BodyLimit,
                max_bytes=limits.max_body_bytes,
                seconds=limits.body_seconds,
                max_header_bytes=limits.max_header_bytes,
                refused=count_refusal,
            )
        ],
    )


class _GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus a deadline and a size bound for a request head.

    uvicorn times out only an idle connection after a response (`timeout_keep_alive`);
    a client that connects and sends its headers a byte at a time (or nothing at all)
    would hold its connection for ever. This arms a timer when the connection opens and
    after each response; if no new request has begun when it fires, the connection gets
    408 and is closed. A request that has begun is bounded by `BodyLimit` instead.

    httptools keeps an unfinished header in memory however long it grows, so the bytes
    of a head still unfinished are counted as they arrive: past `max_header_bytes` the
    connection gets 431 and is closed, having held at most the limit plus one read. (A
    head that arrives whole is measured by `BodyLimit`, which answers 431 too.)
    """

    header_seconds: float = 10.0
    max_header_bytes: int = 16 * 1024

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._reading_head = True  # until a head is complete; again after each message
        self._head_bytes = 0
        self._heads_completed = 0
        self._refused_head = False
        self._arm_header_deadline()

    def data_received(self, data: bytes) -> None:
        completed, was_reading_head = self._heads_completed, self._reading_head
        super().data_received(data)
        if self._heads_completed != completed or not was_reading_head:
            # A head or a body ended in this read: the head begun after it, if any, has
            # at most this read's bytes so far.
            self._head_bytes = 0
        elif self._reading_head and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > self.max_header_bytes:
                self._refuse_head(b"431 Request Header Fields Too Large")

    def on_headers_complete(self) -> None:
        self._reading_head = False
        self._heads_completed += 1
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._reading_head = True
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_header_deadline()

    def send_400_response(self, msg: str) -> None:
        if not self._refused_head:  # the head was answered already, and the connection closed
            super().send_400_response(msg)

    def _arm_header_deadline(self) -> None:
        self.loop.call_later(self.header_seconds, self._header_deadline, self.cycle)

    def _header_deadline(self, cycle_when_armed: Any) -> None:
        waiting_for_a_request = self.cycle is cycle_when_armed and (
            cycle_when_armed is None or cycle_when_armed.response_complete
        )
        if not waiting_for_a_request or self.transport.is_closing():
            return
        log.warning("closed a connection whose request headers did not arrive in time")
        self._refuse_head(b"408 Request Timeout")

    def _refuse_head(self, status: bytes) -> None:
        self._refused_head = True
        self.transport.write(
            b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        self.transport.close()  # uvicorn's `connection_lost` ends the request cycle


def server_config(
    app: ASGIApp, host: str, port: int, *, limits: ServerLimits | None = None
) -> uvicorn.Config:
    """The uvicorn settings for `opsbot run` and `BackgroundServer`, with `limits`.

    httptools (llhttp, in C) rather than h11: it parses a request in a fraction of h11's
    time, a quarter of what serving a slash command costs the server in all. No
    WebSocket: no route takes one (the long connections are clients), and uvicorn's
    would import `websockets` for nothing.
    """
    limits = limits or ServerLimits()
    protocol = type(
        "GuardedHttpToolsProtocol",
        (_GuardedHttpToolsProtocol,),
        {"header_seconds": limits.header_seconds, "max_header_bytes": limits.max_header_bytes},
    )
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=protocol,
        ws="none",
        log_level="warning",
        lifespan="off",
        timeout_keep_alive=limits.keep_alive_seconds,
        limit_concurrency=limits.max_concurrency,
        timeout_graceful_shutdown=limits.drain_seconds,
    )


class BackgroundServer:
    """uvicorn in a thread (for tests and for `opsbot run`, whose main thread is left to
    the signals: uvicorn listens for them only in the main thread, and after a SIGTERM it
    would raise the signal again as it returns, ending the process with it)."""

    def __init__(
        self,
        app: Starlette,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        limits: ServerLimits | None = None,
    ) -> None:
        self.server = uvicorn.Server(server_config(app, host, port, limits=limits))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> int:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self.thread.is_alive():  # uvicorn has logged why (a port in use …)
                raise RuntimeError("the HTTP server could not start")
            if time.monotonic() > deadline:
                raise RuntimeError("the HTTP server did not start")
            time.sleep(0.01)
        return int(self.server.servers[0].sockets[0].getsockname()[1])

    def stop_soon(self) -> None:
        """Ask uvicorn to stop, without waiting. Safe in a signal handler: it only sets
        the flag uvicorn's loop reads every 0.1 s."""
        self.server.should_exit = True

    def wait(self) -> None:
        """Until the server has stopped (signal handlers still run meanwhile)."""
        self.thread.join()

    def stop(self) -> None:
        self.stop_soon()
        self.thread.join(timeout=10)
