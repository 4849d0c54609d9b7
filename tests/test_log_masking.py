"""No secret reaches a log line, at any level."""

from __future__ import annotations

import io
import logging

import httpx
import pytest

from bot.runtime.logs import configure_logging, mask_secrets

SECRETS = ["s3cr3t-corp", "robot-KEY-123", "tok-ABC", "xoxb-1-2-abc", "app-secret-9"]


@pytest.mark.parametrize(
    "line",
    [
        "HTTP Request: GET https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpid=wx1&corpsecret=s3cr3t-corp",
        'HTTP Request: POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=robot-KEY-123 "200"',
        "HTTP Request: POST https://x/cgi-bin/message/send?access_token=tok-ABC",
        'POST /open-apis/auth/v3/tenant_access_token/internal {"app_id": "cli", "app_secret": "app-secret-9"}',
        "Authorization: Bearer tok-ABC",
        "slack token xoxb-1-2-abc was refused",
    ],
)
def test_secrets_in_urls_bodies_and_headers_are_masked(line: str) -> None:
    masked = mask_secrets(line)
    assert not [secret for secret in SECRETS if secret in masked]
    assert "***" in masked


def test_the_cli_logging_masks_what_httpx_logs_at_info(caplog: pytest.LogCaptureFixture) -> None:
    stream = io.StringIO()
    handler = configure_logging(logging.DEBUG, stream)
    try:
        transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"ok": True}))
        with httpx.Client(transport=transport) as client:
            client.get(
                "https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpid=wx&corpsecret=s3cr3t-corp"
            )
            client.post("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=robot-KEY-123")
        logging.getLogger("opsbot").error("failed with token=tok-ABC")
    finally:
        logging.getLogger().removeHandler(handler)
    written = stream.getvalue()
    assert "gettoken" in written and "webhook/send" in written  # the lines are there
    assert not [secret for secret in SECRETS if secret in written]
