"""Small fake HTTP services on 127.0.0.1, started by the tests themselves (port 0)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from bot.core.outbound import DeliveryError, OutgoingMessage

Responder = Callable[[dict[str, Any]], tuple[int, dict[str, str]]]


class JsonHandler(BaseHTTPRequestHandler):
    """A request handler that answers JSON and keeps quiet."""

    def answer(
        self, payload: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def answer_raw(self, status: int, content_type: str, text: str) -> None:
        """An answer as an outage gives it: any status, any body (an HTML page)."""
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Run a handler on 127.0.0.1 at a free port; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # Polled every 10 ms rather than every 0.5 s, so that shutdown() returns at once.
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class FakeService:
    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    responses: list[int] = field(default_factory=list)


@contextmanager
def fake_service(respond: Responder) -> Iterator[FakeService]:
    """An HTTP server that records every JSON body it gets and answers as `respond` says."""
    service = FakeService(url="")

    class Handler(JsonHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            status, headers = respond(body)
            service.requests.append(body)
            service.responses.append(status)
            self.answer({}, status, headers)

    with serve(Handler) as base:
        service.url = f"{base}/send"
        yield service


class WebhookSender:
    """A minimal HTTP sender, standing in for a chat platform's message API."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = httpx.Client(timeout=5)

    def send(self, message: OutgoingMessage) -> None:
        try:
            response = self.client.post(
                self.url,
                json={
                    "key": message.idempotency_key,
                    "target": message.target,
                    "title": message.reply.title,
                },
            )
        except httpx.HTTPError as error:
            raise DeliveryError(str(error)) from error
        if response.status_code == 429:
            raise DeliveryError(
                "rate limited", retry_after=float(response.headers.get("Retry-After", "1"))
            )
        if response.status_code >= 500:
            raise DeliveryError(f"server error {response.status_code}")
        if response.status_code >= 400:
            raise DeliveryError(f"refused {response.status_code}", retryable=False)
