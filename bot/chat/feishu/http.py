"""`POST /feishu/events` on `opsbot run`'s server.

The adapter's `handle_http` expects a JSON object with fields of the types Feishu sends;
other input (`[]`, `1`, `null`, `{"encrypt": 123}`, a `header` that is a string,
non-ASCII signature headers) would make it raise. So the route checks the envelope's
shape first and answers 400 for a body or headers that cannot be read (401 stays the
adapter's answer for a bad signature, token or encryption). What the adapter still
raises on malformed input (inside an encrypted body, say) is caught at this edge too:
a 400 and a WARNING line, never a 500 with a traceback.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.chat.base import HttpRoute
from bot.chat.feishu.adapter import FeishuAdapter

log = logging.getLogger(__name__)

SIGNATURE_HEADERS = ("x-lark-request-timestamp", "x-lark-request-nonce", "x-lark-signature")
# Top-level fields and the types Feishu sends them as (None: absent or null).
FIELD_TYPES: dict[str, type] = {"encrypt": str, "header": dict, "event": dict, "token": str,
                                "type": str}  # fmt: skip
# What the adapter raises when a field is not what Feishu sends.
MALFORMED = (ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError)


def feishu_route(adapter: FeishuAdapter) -> HttpRoute:
    async def feishu_events(request: Request) -> Response:
        body = await request.body()
        headers = {key.lower(): value for key, value in request.headers.items()}
        problem = malformed(headers, body)
        if problem is not None:
            return _malformed(problem)
        try:
            status, answer = await run_in_threadpool(adapter.handle_http, headers, body)
            return JSONResponse(answer, status_code=status)
        except MALFORMED as error:
            return _malformed(f"{type(error).__name__}: {str(error)[:200]!r}")

    return HttpRoute("/feishu/events", feishu_events)


def malformed(headers: dict[str, str], body: bytes) -> str | None:
    """Why the callback cannot be read at all, or None if it has Feishu's shape."""
    for name in SIGNATURE_HEADERS:
        value = headers.get(name)
        if value is not None and (not value.isascii() or len(value) > 256):
            return f"{name} is not a short ASCII value"
    stamp = headers.get("x-lark-request-timestamp")
    if stamp is not None and not stamp.isdigit():
        return "the timestamp is not a number of seconds"
    if not body.strip():
        return "an empty body"
    try:
        payload: Any = json.loads(body, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        return "not JSON (or nested too deep)"
    if not isinstance(payload, dict):
        return f"the body is a JSON {type(payload).__name__}, not an object"
    for field, kind in FIELD_TYPES.items():
        if payload.get(field) is not None and not isinstance(payload[field], kind):
            return f"`{field}` is not a {kind.__name__}"
    return None


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Python accepts NaN/Infinity; JSON does not


def _malformed(problem: str) -> Response:
    log.warning("feishu callback malformed: %s", problem)
    return JSONResponse({"error": "malformed request"}, status_code=400)
