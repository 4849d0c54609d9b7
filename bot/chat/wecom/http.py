"""`GET|POST /wecom/callback` on `opsbot run`'s server."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.chat.base import HttpRoute
from bot.chat.wecom.adapter import WecomAdapter


def wecom_route(adapter: WecomAdapter) -> HttpRoute:
    async def wecom_callback(request: Request) -> Response:
        params = dict(request.query_params)
        if request.method == "GET":
            status, text = await run_in_threadpool(adapter.verify_url, params)
        else:
            body = await request.body()
            status, text = await run_in_threadpool(adapter.handle_callback, params, body)
        return PlainTextResponse(text, status_code=status)

    return HttpRoute("/wecom/callback", wecom_callback, methods=("GET", "POST"))
