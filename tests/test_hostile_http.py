"""Hostile HTTP to the server with all three chat plug-ins: never a 5xx, never a traceback.

Each malformed or unauthenticated request gets a 4xx (400 when it cannot even be read,
401 when its credentials are wrong), logs no traceback and stores nothing; a body over
the limit gets 413 before it is read whole; a client that trickles its headers or body
gets 408 and its connection closed. The plug-ins' APIs point at 127.0.0.1:9: nothing
refused here may call out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import select
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.chat.base import InlineExecutor
from bot.chat.feishu.crypto import encrypt as feishu_encrypt
from bot.chat.feishu.crypto import signature as feishu_signature
from bot.chat.wecom.crypto import WecomCrypto
from bot.core.clock import FrozenClock
from bot.runtime.app import OpsBot
from bot.runtime.server import BackgroundServer, ServerLimits, build_http_app
from bot.runtime.wiring import ChatPlatforms, connect_chat_platforms
from tests.chat_rig import MONDAY_10
from tests.conftest import BotDriver, make_settings

NOWHERE = "http://127.0.0.1:9"  # the discard port: a call out would fail loudly
SLACK_SECRET = "hostile-signing-secret"
FEISHU_KEY, FEISHU_TOKEN = "hostile-encrypt-key", "hostile-verification-token"
WECOM_TOKEN, WECOM_CORP, WECOM_KEY = (
    "QDG6eK",
    "wx5823bf96d3bd56c7",
    "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
)
MEMBERS = [
    {"id": "alice", "name": "Alice", "role": "admin", "slack": "U01", "feishu": "ou_alice",
     "wecom": "alice"},
]  # fmt: skip
CHANNELS = {"slack": "C0123", "feishu": "oc_123", "wecom": "robot"}
PLATFORMS = {
    "slack": {"bot_token": "xoxb-test", "signing_secret": SLACK_SECRET, "mode": "http",
              "api_url": f"{NOWHERE}/api/"},
    "feishu": {"app_id": "cli_test", "app_secret": "secret", "verification_token": FEISHU_TOKEN,
               "encrypt_key": FEISHU_KEY, "mode": "http", "base_url": NOWHERE},
    "wecom": {"corp_id": WECOM_CORP, "agent_id": 1, "secret": "s", "token": WECOM_TOKEN,
              "encoding_aes_key": WECOM_KEY, "base_url": NOWHERE},
}  # fmt: skip
ENDPOINTS = ("/slack/events", "/feishu/events", "/wecom/callback")
DEEP = b'{"a":' * 1000 + b"1" + b"}" * 1000


@dataclass
class Server:
    bot: OpsBot
    driver: BotDriver
    platforms: ChatPlatforms
    url: str
    port: int
    http: httpx.Client


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    url = f"sqlite:///{tmp_path_factory.mktemp('hostile_http') / 'opsbot.db'}"
    settings_ = make_settings(
        url, platforms=PLATFORMS, team={"members": MEMBERS, "channels": CHANNELS}
    )
    clock = FrozenClock(MONDAY_10)
    bot = OpsBot.open(settings_, clock)
    platforms = connect_chat_platforms(bot, executor=InlineExecutor())
    background = BackgroundServer(build_http_app(bot, platforms.routes()))
    port = background.start()
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base, timeout=10) as http:
        try:
            yield Server(bot, BotDriver(bot, clock), platforms, base, port, http)
        finally:
            background.stop()
            platforms.stop()
            bot.engine.dispose()


@pytest.fixture
def log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Everything logged, uvicorn's own loggers too (they do not propagate to the root)."""
    caplog.set_level(logging.DEBUG)
    uvicorn_logger = logging.getLogger("uvicorn")
    uvicorn_logger.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        uvicorn_logger.removeHandler(caplog.handler)


def assert_quiet(log: pytest.LogCaptureFixture) -> None:
    assert "Traceback" not in log.text
    assert not [r for r in log.records if r.levelno >= logging.ERROR or r.exc_info], log.text


# -- how each platform signs ---------------------------------------------------------------


def slack_signed(body: bytes, content_type: str = "application/x-www-form-urlencoded",
                 *, stamp: int | None = None) -> dict[str, str]:  # fmt: skip
    timestamp = str(int(time.time()) if stamp is None else stamp)
    digest = hmac.new(
        SLACK_SECRET.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256
    ).hexdigest()
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": f"v0={digest}",
            "Content-Type": content_type}  # fmt: skip


def feishu_sealed(plain: str, *, key: str = FEISHU_KEY) -> tuple[bytes, dict[str, str]]:
    """`plain` encrypted with `key`, the body signed with ours (as Feishu signs)."""
    body = json.dumps({"encrypt": feishu_encrypt(plain, key, os.urandom(16))}).encode()
    return body, feishu_headers(body)


def feishu_headers(body: bytes) -> dict[str, str]:
    stamp, nonce = str(int(time.time())), "nonce"
    return {"Content-Type": "application/json", "X-Lark-Request-Timestamp": stamp,
            "X-Lark-Request-Nonce": nonce,
            "X-Lark-Signature": feishu_signature(stamp, nonce, FEISHU_KEY, body)}  # fmt: skip


WECOM = WecomCrypto(WECOM_TOKEN, WECOM_KEY, WECOM_CORP)


def wecom_signed(encrypted: str) -> dict[str, str]:
    stamp, nonce = str(int(time.time())), "nonce"
    return {"msg_signature": WECOM.signature(stamp, nonce, encrypted), "timestamp": stamp,
            "nonce": nonce}  # fmt: skip


def wecom_envelope(encrypted: str) -> bytes:
    return (
        f"<xml><ToUserName>{WECOM_CORP}</ToUserName><Encrypt>{encrypted}</Encrypt></xml>".encode()
    )


# -- the variants ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Hostile:
    name: str
    path: str
    status: int | None  # None: any 4xx
    body: bytes = b""
    headers: dict[str, Any] | None = None
    params: dict[str, str] | None = None
    query: str | None = None  # a raw query string, sent as is
    method: str = "POST"


FORM = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"
SLACK_FORM = b"command=%2Fops-topic&text=add+x&user_id=U01&team_id=T1&channel_id=C0123"
WRONG_KEY_ECHO = WecomCrypto(WECOM_TOKEN, "a" * 43, WECOM_CORP).encrypt("x")


def hostile_requests() -> list[Hostile]:
    s, f, w = ENDPOINTS
    unsigned = {"Content-Type": FORM}
    stamp = str(int(time.time()))
    return [
        # Slack: credentials missing, wrong or unreadable.
        Hostile("slack timestamp abc", s, 400, SLACK_FORM,
                {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=00"}),
        Hostile("slack timestamp negative", s, 400, SLACK_FORM,
                {"X-Slack-Request-Timestamp": "-1", "X-Slack-Signature": "v0=00"}),
        Hostile("slack timestamp huge", s, 400, SLACK_FORM,
                {"X-Slack-Request-Timestamp": "9" * 40, "X-Slack-Signature": "v0=00"}),
        Hostile("slack non-ASCII signature", s, 400, SLACK_FORM,
                {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": b"v0=\xc3\xa9"}),
        Hostile("slack unsigned", s, 401, SLACK_FORM, unsigned),
        Hostile("slack stale", s, 401, SLACK_FORM, slack_signed(SLACK_FORM, stamp=1_000_000)),
        Hostile("slack forged", s, 401, SLACK_FORM,
                {**slack_signed(SLACK_FORM), "X-Slack-Signature": "v0=" + "0" * 64}),
        Hostile("slack unsigned non-JSON as JSON", s, 401, b"{not json",
                {"Content-Type": JSON_TYPE}),
        Hostile("slack unsigned payload=%7B", s, 401, b"payload=%7B", unsigned),
        Hostile("slack unsigned \\xff", s, 401, b"\xff", unsigned),
        Hostile("slack unsigned deep nesting", s, 401, DEEP, {"Content-Type": JSON_TYPE}),
        Hostile("slack unsigned empty", s, 401, b"", unsigned),
        Hostile("slack unsigned wrong content type", s, 401, SLACK_FORM,
                {"Content-Type": "text/plain"}),
        Hostile("slack unsigned bad percent-encoding", s, 401, b"text=%zz%&command=%", unsigned),
        # Slack: signed, but Bolt cannot read the body.
        Hostile("slack signed non-JSON as JSON", s, 400, b"{not json",
                slack_signed(b"{not json", JSON_TYPE)),
        Hostile("slack signed payload=%7B", s, 400, b"payload=%7B", slack_signed(b"payload=%7B")),
        Hostile("slack signed \\xff", s, 400, b"\xff", slack_signed(b"\xff")),
        Hostile("slack signed deep nesting", s, None, DEEP, slack_signed(DEEP, JSON_TYPE)),
        Hostile("slack signed JSON list", s, 400, b"[]", slack_signed(b"[]", JSON_TYPE)),
        Hostile("slack signed JSON number", s, 400, b"1", slack_signed(b"1", JSON_TYPE)),
        Hostile("slack signed JSON null", s, 400, b"null", slack_signed(b"null", JSON_TYPE)),
        Hostile("slack signed odd authorizations", s, 400, b'{"authorizations":"x"}',
                slack_signed(b'{"authorizations":"x"}', JSON_TYPE)),
        Hostile("slack signed empty", s, 400, b"", slack_signed(b"")),
        Hostile("slack signed form without a command", s, 400, b"text=x",
                slack_signed(b"text=x")),
        # Feishu: bodies that are not Feishu's envelope.
        Hostile("feishu []", f, 400, b"[]", {"Content-Type": JSON_TYPE}),
        Hostile("feishu 1", f, 400, b"1", {"Content-Type": JSON_TYPE}),
        Hostile("feishu null", f, 400, b"null", {"Content-Type": JSON_TYPE}),
        Hostile("feishu encrypt 123", f, 400, b'{"encrypt":123}', {"Content-Type": JSON_TYPE}),
        Hostile("feishu header x", f, 400, b'{"type":"url_verification","header":"x"}',
                {"Content-Type": JSON_TYPE}),
        Hostile("feishu event x", f, 400, b'{"event":"x"}', {"Content-Type": JSON_TYPE}),
        Hostile("feishu empty", f, 400, b"", {"Content-Type": JSON_TYPE}),
        Hostile("feishu not JSON", f, 400, b"{not json", {"Content-Type": JSON_TYPE}),
        Hostile("feishu \\xff", f, 400, b"\xff", {"Content-Type": JSON_TYPE}),
        Hostile("feishu NaN", f, 400, b'{"type":"url_verification","challenge":NaN}',
                {"Content-Type": JSON_TYPE}),
        Hostile("feishu deep nesting", f, None, DEEP, {"Content-Type": JSON_TYPE}),
        Hostile("feishu wrong content type", f, 400, b"a=b", {"Content-Type": "text/plain"}),
        Hostile("feishu non-ASCII signature", f, 400, b'{"encrypt":"abc"}',
                {**feishu_headers(b'{"encrypt":"abc"}'), "X-Lark-Signature": b"\xc3\xa9"}),
        Hostile("feishu timestamp abc", f, 400, b'{"encrypt":"abc"}',
                {**feishu_headers(b'{"encrypt":"abc"}'), "X-Lark-Request-Timestamp": "abc"}),
        Hostile("feishu plain event", f, 401, b'{"header":{"token":"wrong"}}',
                {"Content-Type": JSON_TYPE}),
        Hostile("feishu truncated base64", f, 401, b'{"encrypt":"YWJj"}',
                feishu_headers(b'{"encrypt":"YWJj"}')),
        Hostile("feishu truncated base64 unsigned", f, 401, b'{"encrypt":"YWJjZ"}',
                {"Content-Type": JSON_TYPE}),
        Hostile("feishu wrong AES key (padding)", f, 401,
                *feishu_sealed('{"header":{"token":"x"}}', key="another-key")),
        Hostile("feishu forged signature", f, 401, feishu_sealed("{}")[0],
                feishu_headers(b"something else")),
        # WeCom: a query or body that cannot be read, and credentials that are wrong.
        Hostile("wecom GET msg_signature %C3%A9", w, 400, method="GET",
                query="msg_signature=%C3%A9&timestamp=1&nonce=n&echostr=abc"),
        Hostile("wecom POST msg_signature %C3%A9", w, 400, wecom_envelope("abc"),
                query="msg_signature=%C3%A9&timestamp=1&nonce=n"),
        Hostile("wecom msg_signature %FF", w, 400, wecom_envelope("abc"),
                query="msg_signature=%FF&timestamp=1&nonce=n"),
        Hostile("wecom bad percent-encoding", w, 401, wecom_envelope("abc"),
                query="msg_signature=%zz&timestamp=1&nonce=%"),
        Hostile("wecom timestamp abc", w, 400, wecom_envelope("abc"),
                params={"msg_signature": "0" * 40, "timestamp": "abc", "nonce": "n"}),
        Hostile("wecom encoding bogus", w, 400,
                b"<?xml version='1.0' encoding='bogus'?><xml><Encrypt>abc</Encrypt></xml>",
                params=wecom_signed("abc")),
        Hostile("wecom empty body", w, 400, b"", params=wecom_signed("")),
        Hostile("wecom \\xff", w, 400, b"\xff", params=wecom_signed("")),
        Hostile("wecom not XML", w, 400, b"{}", params=wecom_signed("")),
        Hostile("wecom entity", w, 400,
                b'<!DOCTYPE x [<!ENTITY a "b">]><xml><Encrypt>&a;</Encrypt></xml>',
                params=wecom_signed("b")),
        Hostile("wecom deep XML", w, 401, b"<a>" * 1000 + b"</a>" * 1000,
                params={"msg_signature": "0" * 40, "timestamp": "1", "nonce": "n"}),
        Hostile("wecom unsigned", w, 401, wecom_envelope(WECOM.encrypt("<xml/>"))),
        Hostile("wecom truncated base64", w, 401, wecom_envelope("YWJjZ"),
                params=wecom_signed("YWJjZ")),
        Hostile("wecom wrong AES key (padding)", w, 401, wecom_envelope(WRONG_KEY_ECHO),
                params=wecom_signed(WRONG_KEY_ECHO)),
        Hostile("wecom GET truncated echostr", w, 401, method="GET",
                params={**wecom_signed("YWJjZ"), "echostr": "YWJjZ"}),
        Hostile("wecom GET non-ASCII echostr", w, 400, method="GET",
                params={**wecom_signed("é"), "echostr": "é"}),
        Hostile("wecom PUT", w, 405, b"x", method="PUT"),
        # Any route: a request head over the limit.
        Hostile("huge header", s, 431, SLACK_FORM, {"X-Padding": "x" * 40_000}),
        Hostile("many headers", f, 431, b"{}", {f"X-H{n}": "x" * 100 for n in range(200)}),
        Hostile("unknown path", "/nowhere", 404, b"x"),
    ]  # fmt: skip


HOSTILE = hostile_requests()


def send(server: Server, case: Hostile) -> httpx.Response:
    url = case.path + (f"?{case.query}" if case.query is not None else "")
    headers = [
        (key.encode(), value if isinstance(value, bytes) else value.encode("latin-1"))
        for key, value in (case.headers or {}).items()
    ]
    return server.http.request(
        case.method, url, content=case.body, headers=headers, params=case.params
    )


@pytest.mark.parametrize("case", HOSTILE, ids=[case.name for case in HOSTILE])
def test_a_hostile_request_gets_a_4xx_and_changes_nothing(
    server: Server, log: pytest.LogCaptureFixture, case: Hostile
) -> None:
    before = server.driver.export()

    response = send(server, case)

    if case.status is None:
        assert 400 <= response.status_code < 500, response.text
    else:
        assert response.status_code == case.status, response.text
    assert server.driver.export() == before
    assert_quiet(log)


def test_signed_but_odd_payloads_are_never_a_5xx(
    server: Server, log: pytest.LogCaptureFixture
) -> None:
    """Authenticated, but not what the platform sends: a 4xx, or a 200 that does nothing."""
    before = server.driver.export()
    odd_feishu = [
        "[]", "1", "null", '"x"', '{"header":"x"}', json.dumps({"header": {"token": FEISHU_TOKEN}, "event": "x"}),
        json.dumps({"schema": "2.0", "event": "x", "header": {
            "token": FEISHU_TOKEN, "event_type": "card.action.trigger", "event_id": "e-odd"}}),
        json.dumps({"schema": "2.0", "event": {"action": "x", "operator": "y"}, "header": {
            "token": FEISHU_TOKEN, "event_type": "card.action.trigger", "event_id": "e-odd2"}}),
    ]  # fmt: skip
    for plain in odd_feishu:
        response = server.http.post("/feishu/events", content=feishu_sealed(plain)[0],
                                    headers=feishu_sealed(plain)[1])  # fmt: skip
        assert response.status_code < 500, (plain, response.text)
    for xml in ["not xml", "<xml/>", "<xml><MsgType>text</MsgType></xml>", "\udcff"]:
        encrypted = WECOM.encrypt(xml.encode("utf-8", "surrogateescape").decode("latin-1"))
        response = server.http.post(
            "/wecom/callback", content=wecom_envelope(encrypted), params=wecom_signed(encrypted)
        )
        assert response.status_code < 500, (xml, response.text)
    assert server.driver.export() == before
    assert_quiet(log)


def test_healthz_and_metrics_still_answer(server: Server) -> None:
    assert server.http.get("/healthz").json() == {"status": "ok"}
    metrics = server.http.get("/metrics")
    assert metrics.status_code == 200
    assert "opsbot_http_requests" in metrics.text


# -- random input ----------------------------------------------------------------------------

HEADER_NAMES = ["Content-Type", "X-Slack-Request-Timestamp", "X-Slack-Signature",
                "X-Lark-Request-Timestamp", "X-Lark-Request-Nonce", "X-Lark-Signature",
                "Content-Encoding", "X-Anything"]  # fmt: skip
# Bytes HTTP lets a client put in a header value: visible ASCII, obs-text, inner spaces.
header_values = st.binary(max_size=60).map(
    lambda raw: bytes(b if 0x21 <= b <= 0x7E or b >= 0x80 else 0x61 for b in raw)
)
random_headers = st.dictionaries(st.sampled_from(HEADER_NAMES), header_values, max_size=5)
random_query = st.dictionaries(
    st.sampled_from(["msg_signature", "timestamp", "nonce", "echostr", "x"]),
    st.text(max_size=40),
    max_size=4,
)
FUZZ = settings(max_examples=100, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip


@FUZZ
@given(
    path=st.sampled_from(ENDPOINTS),
    body=st.binary(max_size=2000),
    headers=random_headers,
    query=random_query,
)
def test_random_bytes_and_headers_are_never_a_5xx(
    server: Server, path: str, body: bytes, headers: dict[str, bytes], query: dict[str, str]
) -> None:
    raw = [(name.encode(), value) for name, value in headers.items()]
    response = server.http.post(path, content=body, headers=raw, params=query)
    assert response.status_code < 500, response.text


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip


@FUZZ
@given(body=st.binary(max_size=1000), content_type=st.sampled_from([FORM, JSON_TYPE, "text/plain"]))
def test_random_signed_slack_bodies_are_never_a_5xx(
    server: Server, body: bytes, content_type: str
) -> None:
    response = server.http.post("/slack/events", content=body,
                                headers=slack_signed(body, content_type))  # fmt: skip
    assert response.status_code < 500, response.text


@FUZZ
@given(value=json_values)
def test_random_sealed_feishu_payloads_are_never_a_5xx(server: Server, value: Any) -> None:
    if isinstance(value, dict):
        value["header"] = {"token": FEISHU_TOKEN}
    body, headers = feishu_sealed(json.dumps(value))
    response = server.http.post("/feishu/events", content=body, headers=headers)
    assert response.status_code < 500, response.text


@FUZZ
@given(plain=st.text(max_size=300))
def test_random_sealed_wecom_messages_are_never_a_5xx(server: Server, plain: str) -> None:
    encrypted = WECOM.encrypt(plain.encode("utf-8", "replace").decode("utf-8"))
    response = server.http.post(
        "/wecom/callback", content=wecom_envelope(encrypted), params=wecom_signed(encrypted)
    )
    assert response.status_code < 500, response.text


def test_random_input_stored_nothing(server: Server) -> None:
    """After the fuzzing above (same module server): no topic, task or member appeared."""
    tables = server.driver.export()
    assert tables.get("topics", []) == []
    assert tables.get("tasks", []) == []


# -- bodies over the limit, slow clients -------------------------------------------------------


def exchange(port: int, *parts: bytes, within: float = 5.0) -> tuple[bytes, float]:
    """Send `parts` on one connection, read until the server closes it; what came back
    and how long the server took to close."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=within) as sock:
        for part in parts:
            sock.sendall(part)
        answer = b""
        while time.monotonic() - start < within:
            ready, _, _ = select.select([sock], [], [], within)
            if not ready:
                break
            chunk = sock.recv(65536)
            if not chunk:
                return answer, time.monotonic() - start
            answer += chunk
    raise AssertionError(f"the server kept the connection open; it said {answer[:200]!r}")


def head(path: str, *fields: str) -> bytes:
    return (
        "\r\n".join([f"POST {path} HTTP/1.1", "Host: localhost", *fields]) + "\r\n\r\n"
    ).encode()


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_declared_2mb_body_gets_413_before_it_is_sent(
    server: Server, log: pytest.LogCaptureFixture, path: str
) -> None:
    """Only the head is sent: the answer cannot have waited for the body. (A client that
    sent body bytes the server never reads may see its connection reset instead.)"""
    before = server.driver.export()
    answer, _ = exchange(server.port, head(path, "Content-Length: 2000000"))
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert server.driver.export() == before
    assert_quiet(log)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_chunked_body_over_the_limit_gets_413(
    server: Server, log: pytest.LogCaptureFixture, path: str
) -> None:
    before = server.driver.export()
    chunk = b"x" * 65536
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    limit = ServerLimits().max_body_bytes
    # Exactly the limit, then one byte more: the server has read all that was sent when it
    # answers, so it closes with a FIN (unread bytes would make it a reset).
    answer, _ = exchange(
        server.port,
        head(path, "Transfer-Encoding: chunked"),
        framed * (limit // len(chunk)),
        b"1\r\nx\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert server.driver.export() == before
    assert_quiet(log)


def test_forty_declared_10mb_bodies_are_all_refused(server: Server) -> None:
    sockets = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(40)]
    try:
        for sock in sockets:
            sock.sendall(head("/slack/events", "Content-Length: 10000000"))
        for sock in sockets:
            assert sock.recv(12) == b"HTTP/1.1 413"
    finally:
        for sock in sockets:
            sock.close()
    refused = 'opsbot_http_requests_total{route="/slack/events",status="413"}'
    assert refused in server.http.get("/metrics").text


def test_a_head_that_arrives_in_pieces_is_bounded_as_it_arrives(server: Server) -> None:
    unfinished = b"POST /slack/events HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"x" * 20_000
    answer, _ = exchange(server.port, unfinished)
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
    assert b"connection: close" in answer.lower()


def test_a_head_trickling_in_small_pieces_is_bounded_too(server: Server) -> None:
    start = b"POST /slack/events HTTP/1.1\r\nHost: x\r\n"
    pieces = [f"X-Pad-{n}: {'x' * 500}\r\n".encode() for n in range(40)]  # 20 KB, unfinished
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        try:
            for piece in [start, *pieces]:
                sock.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed on us, as it should be: its answer is waiting
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
    assert b"connection: close" in answer.lower()


def test_large_bodies_on_one_connection_are_not_taken_for_a_large_head(server: Server) -> None:
    """Only an unfinished head is counted: request after request, each with a body far
    over the head limit and arriving in the same reads as the next head, is answered."""
    body = b"command=%2Fops&text=" + b"x" * 200_000
    one = head("/slack/events", f"Content-Length: {len(body)}", f"Content-Type: {FORM}") + body
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(one * 3)
        answers = b""
        while answers.count(b"HTTP/1.1 ") < 3:
            chunk = sock.recv(65536)
            assert chunk, answers[:300]
            answers += chunk
    assert re.findall(rb"HTTP/1\.1 (\d{3})", answers) == [b"401"] * 3, answers


@pytest.fixture(scope="module")
def impatient(server: Server) -> Iterator[int]:
    """The same bot behind a second server with half-second deadlines."""
    limits = ServerLimits(body_seconds=0.5, header_seconds=0.5)
    background = BackgroundServer(
        build_http_app(server.bot, server.platforms.routes(), limits=limits), limits=limits
    )
    port = background.start()
    try:
        yield port
    finally:
        background.stop()


def test_a_trickling_body_gets_408_and_the_connection_closed(impatient: int) -> None:
    answer, took = exchange(
        impatient, head("/slack/events", "Content-Length: 1000"), b"command=", within=2
    )
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"connection: close" in answer.lower()
    assert took < 2


def test_trickling_headers_get_the_connection_closed(impatient: int) -> None:
    answer, took = exchange(impatient, b"POST /slack/events HTTP/1.1\r\nHost: x\r\n", within=2)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert took < 2


def test_an_idle_connection_is_closed(impatient: int) -> None:
    _, took = exchange(impatient, within=2)
    assert took < 2


def test_a_keep_alive_connection_serves_more_requests_within_the_deadline(impatient: int) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{impatient}", timeout=5) as http:
        assert [http.get("/healthz").status_code for _ in range(3)] == [200, 200, 200]
