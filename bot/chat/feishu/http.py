"""`POST /feishu/events` on `opsbot run`'s server."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.chat.base import HttpRoute
from bot.chat.feishu.adapter import FeishuAdapter


def feishu_route(adapter: FeishuAdapter) -> HttpRoute:
    async def feishu_events(request: Request) -> Response:
        body = await request.body()
        headers = {key.lower(): value for key, value in request.headers.items()}
        status, answer = await run_in_threadpool(adapter.handle_http, headers, body)
        return JSONResponse(answer, status_code=status)

    return HttpRoute("/feishu/events", feishu_events)
