"""A fake Feishu Open API on 127.0.0.1 (port 0), and callbacks built the way Feishu builds them.

The fake refuses what Feishu refuses, so a test fails where production would:

- A card (an `interactive` message, a callback's answer, a delayed update) is checked as
  card JSON 2.0, which is strict (卡片 JSON 2.0 版本更新说明: 传入不支持的属性将报错):
  `schema` "2.0", `body.elements` a list of components this bot uses (`markdown`, `hr`,
  `img`, `button`, `column_set` of `column`s, `form` holding `input`s), no property a
  component does not document, a button with text and a callback behaviour, an `img`
  whose key was uploaded here, at most 30 KB. A form (表单容器) stands only at the root
  of `body.elements`, has a `name` and a submit button (`form_action_type: "submit"`,
  the only form action this bot uses); an `input` (输入框) stands only inside a form, and
  the names of forms and of what is in them are unique in the card (Feishu: otherwise
  the submission fails). A refused card is answered as Feishu answers it: HTTP 400,
  `code` 230099, "Failed to create card content, ext=ErrCode: 11310; ErrMsg: …".
- 上传图片 (`POST /open-apis/im/v1/images`): multipart, `image_type` message (or
  avatar), an `image` file that is a picture, not empty, at most 10 MB.
- 延时更新消息卡片 (`POST /open-apis/interactive/v1/card/update`): a callback token, used
  at most twice, and a valid card.
- A message `uuid` already sent makes no second message (Feishu keeps it an hour).

A `Stall` holds the next message call — after Feishu took it, or before — until the
test releases it, and then drops the connection: what a sender killed mid-send sees.

The property lists are those of Feishu's component pages (JSON 2.0); the upload's error
codes (234001, 234006, 234011) are as remembered from its error table, not checked.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from bot.chat.feishu.crypto import encrypt, signature
from tests.chat_rig import ChatRig, chat_rig
from tests.fakes import JsonHandler, serve

ENCRYPT_KEY = "test-encrypt-key"
VERIFICATION_TOKEN = "test-verification-token"

MESSAGES = "/open-apis/im/v1/messages"
IMAGES = "/open-apis/im/v1/images"
CARD_UPDATE = "/open-apis/interactive/v1/card/update"

CARD_CONTENT_ERROR = 230099
MAX_CARD_BYTES = 30 * 1024
MAX_IMAGE_BYTES = 10 * 1024 * 1024
CARD_TOKEN_USES = 2
RECEIVE_ID_TYPES = {"open_id", "user_id", "union_id", "email", "chat_id"}
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"RIFF")

# -- card JSON 2.0, as far as this bot uses it ------------------------------------------

CARD_KEYS = {"schema", "config", "card_link", "header", "body"}
CONFIG_KEYS = {"update_multi", "enable_forward", "enable_forward_interaction", "width_mode",
               "streaming_mode", "streaming_config", "summary", "locales", "style",
               "use_custom_translation"}  # fmt: skip
HEADER_KEYS = {"title", "subtitle", "template", "icon", "text_tag_list", "i18n_text_tag_list",
               "padding"}  # fmt: skip
BODY_KEYS = {"elements", "direction", "padding", "horizontal_spacing", "horizontal_align",
             "vertical_spacing", "vertical_align"}  # fmt: skip
COMMON_KEYS = {"tag", "element_id", "margin"}
ELEMENT_KEYS = {
    "markdown": COMMON_KEYS | {"content", "text_size", "text_align", "icon", "i18n_content"},
    "hr": COMMON_KEYS,
    "img": COMMON_KEYS | {"img_key", "alt", "title", "corner_radius", "scale_type", "size",
                          "transparent", "preview"},
    "button": COMMON_KEYS | {"type", "size", "width", "text", "icon", "hover_tips", "disabled",
                             "disabled_tips", "confirm", "behaviors", "form_action_type",
                             "name", "required"},
    "column_set": COMMON_KEYS | {"horizontal_spacing", "horizontal_align", "flex_mode",
                                 "background_style", "columns", "action"},
    "form": COMMON_KEYS | {"name", "elements", "direction", "padding", "horizontal_spacing",
                           "horizontal_align", "vertical_spacing", "vertical_align"},
    "input": COMMON_KEYS | {"name", "required", "disabled", "disabled_tips", "placeholder",
                            "default_value", "width", "max_length", "input_type", "show_icon",
                            "rows", "auto_resize", "max_rows", "label", "label_position",
                            "behaviors", "confirm"},
}  # fmt: skip
COLUMN_KEYS = {"tag", "element_id", "width", "weight", "vertical_align", "vertical_spacing",
               "horizontal_align", "horizontal_spacing", "direction", "padding", "margin",
               "background_style", "elements", "action"}  # fmt: skip
PLAIN_TEXT_KEYS = {"tag", "content", "i18n_content"}
BEHAVIOR_KEYS = {"callback": {"type", "value"},
                 "open_url": {"type", "default_url", "pc_url", "ios_url", "android_url"}}  # fmt: skip
HEADER_TEMPLATES = {"blue", "wathet", "turquoise", "green", "yellow", "orange", "red",
                    "carmine", "violet", "purple", "indigo", "grey", "default"}  # fmt: skip
BUTTON_TYPES = {"default", "primary", "danger", "text", "primary_text", "danger_text",
                "primary_filled", "danger_filled", "laser"}  # fmt: skip
FLEX_MODES = {"none", "stretch", "flow", "bisect", "trisect"}
INPUT_TYPES = {"text", "multiline_text", "password"}
FORM_ACTION_TYPES = {"submit"}  # Feishu also has "reset", which this bot does not use
MAX_INPUT_LENGTH = 1000
TOAST_TYPES = {"info", "success", "error", "warning"}


class CardRefused(ValueError):
    """What Feishu would say of a card it does not take."""


def _require(condition: object, problem: str) -> None:
    if not condition:
        raise CardRefused(problem)


def _only(where: str, value: Any, allowed: set[str]) -> dict[str, Any]:
    _require(isinstance(value, dict), f"{where} is not an object")
    unknown = sorted(set(value) - allowed)
    _require(not unknown, f"{where} has unknown properties {unknown}")
    checked: dict[str, Any] = value
    return checked


def _plain_text(where: str, value: Any, *, max_chars: int | None = None) -> None:
    text = _only(where, value, PLAIN_TEXT_KEYS)
    _require(text.get("tag") == "plain_text", f"{where}.tag is not plain_text")
    content = text.get("content")
    _require(isinstance(content, str), f"{where}.content is not a string")
    _require(
        max_chars is None or len(str(content)) <= max_chars,
        f"{where} is over {max_chars} characters",
    )


@dataclass
class _Scope:
    """What checking one card needs to know beyond the element at hand."""

    image_keys: set[str]
    names: set[str] = field(default_factory=set)  # of forms and what is in them, card-wide
    form: str | None = None  # the form the elements being checked stand in
    submits: int = 0  # submit buttons seen in that form


def _name(where: str, element: dict[str, Any], scope: _Scope) -> None:
    """A form's component needs a name, unique in the card (表单容器: 否则提交失败)."""
    name = element.get("name")
    _require(isinstance(name, str) and name, f"{where}: a form component without a name")
    _require(name not in scope.names, f"{where}: the name {name!r} is used twice in the card")
    scope.names.add(str(name))


def _elements(where: str, elements: Any, scope: _Scope, *, root: bool = False) -> None:
    _require(isinstance(elements, list), f"{where} is not a list")
    for index, element in enumerate(elements):
        _element(f"{where}[{index}]", element, scope, root=root)


def _form(where: str, element: dict[str, Any], scope: _Scope, *, root: bool) -> None:
    _require(root, f"{where}: a form may stand only at the root of body.elements")
    _name(where, element, scope)
    scope.form, scope.submits = str(element["name"]), 0
    _elements(f"{where}.elements", element.get("elements"), scope)
    _require(scope.submits > 0, f"{where}: a form without a submit button")
    scope.form = None


def _input(where: str, element: dict[str, Any], scope: _Scope) -> None:
    _require(scope.form is not None, f"{where}: an input outside a form")
    _name(where, element, scope)
    for text in ("label", "placeholder"):
        if text in element:
            _plain_text(
                f"{where}.{text}", element[text], max_chars=100 if text == "placeholder" else None
            )
    _require(element.get("input_type", "text") in INPUT_TYPES, f"{where}: unknown input_type")
    length = element.get("max_length", MAX_INPUT_LENGTH)
    _require(
        isinstance(length, int) and 1 <= length <= MAX_INPUT_LENGTH,
        f"{where}: max_length must be in [1, {MAX_INPUT_LENGTH}]",
    )
    rows = element.get("rows", 5)
    _require(isinstance(rows, int) and rows >= 1, f"{where}: rows is not a positive number")
    _require(isinstance(element.get("required", False), bool), f"{where}: required is no boolean")
    _require(
        isinstance(element.get("default_value", ""), str), f"{where}: default_value is no string"
    )


def _element(where: str, element: Any, scope: _Scope, *, root: bool = False) -> None:
    _require(isinstance(element, dict), f"{where} is not an object")
    tag = element.get("tag")
    _require(tag in ELEMENT_KEYS, f"{where}: unknown tag {tag!r} in JSON 2.0 (as this bot uses it)")
    _only(f"{where} ({tag})", element, ELEMENT_KEYS[tag])
    image_keys = scope.image_keys
    if tag == "form":
        _form(where, element, scope, root=root)
    elif tag == "input":
        _input(where, element, scope)
    elif tag == "markdown":
        _require(isinstance(element.get("content"), str), f"{where}: markdown without content")
    elif tag == "img":
        key = element.get("img_key")
        _require(
            isinstance(key, str) and key in image_keys,
            f"{where}: img_key {key!r} was never uploaded",
        )
        _plain_text(f"{where}.alt", element.get("alt"))
    elif tag == "button":
        _plain_text(f"{where}.text", element.get("text"), max_chars=100)
        _require(bool(element["text"]["content"]), f"{where}: a button without text")
        _require(element.get("type", "default") in BUTTON_TYPES, f"{where}: unknown button type")
        behaviors = element.get("behaviors")
        _require(isinstance(behaviors, list) and behaviors, f"{where}: a button without behaviors")
        for number, behavior in enumerate(behaviors):
            kind = behavior.get("type") if isinstance(behavior, dict) else None
            _require(kind in BEHAVIOR_KEYS, f"{where}.behaviors[{number}]: unknown type {kind!r}")
            _only(f"{where}.behaviors[{number}]", behavior, BEHAVIOR_KEYS[str(kind)])
        callbacks = [b for b in behaviors if b["type"] == "callback"]
        _require(bool(callbacks), f"{where}: a button without a callback behaviour")
        _require(
            all(isinstance(b.get("value"), dict) for b in callbacks),
            f"{where}: a callback without a value",
        )
        if scope.form is not None:
            _name(where, element, scope)
        if "form_action_type" in element:
            _require(scope.form is not None, f"{where}: form_action_type outside a form")
            action = element["form_action_type"]
            _require(action in FORM_ACTION_TYPES, f"{where}: form_action_type {action!r}")
            scope.submits += 1
    elif tag == "column_set":
        _require(element.get("flex_mode", "none") in FLEX_MODES, f"{where}: unknown flex_mode")
        columns = element.get("columns")
        _require(isinstance(columns, list), f"{where}: columns is not a list")
        for number, column in enumerate(columns):
            _only(f"{where}.columns[{number}]", column, COLUMN_KEYS)
            _require(column.get("tag") == "column", f"{where}.columns[{number}] is not a column")
            _elements(f"{where}.columns[{number}].elements", column.get("elements", []), scope)


def validate_card(card: Any, *, image_keys: set[str] | frozenset[str] = frozenset()) -> None:
    """Raise CardRefused where Feishu would refuse `card` as a card JSON 2.0."""
    _require(isinstance(card, dict), "the card is not a JSON object")
    _require(card.get("schema") == "2.0", f"schema is {card.get('schema')!r}, not '2.0'")
    _only("the card", card, CARD_KEYS)
    config = _only("config", card.get("config", {}), CONFIG_KEYS)
    _require(config.get("update_multi", True) is True, "config.update_multi must be true in 2.0")
    if "header" in card:
        header = _only("header", card["header"], HEADER_KEYS)
        _plain_text("header.title", header.get("title"))
        _require(
            header.get("template", "default") in HEADER_TEMPLATES, "header.template is no colour"
        )
    body = _only("body", card.get("body"), BODY_KEYS)
    _elements("body.elements", body.get("elements"), _Scope(set(image_keys)), root=True)
    size = len(json.dumps(card, ensure_ascii=False).encode())
    _require(size <= MAX_CARD_BYTES, f"the card is {size} bytes, over 30 KB")


def validate_callback_answer(
    answer: Any, *, image_keys: set[str] | frozenset[str] = frozenset()
) -> None:
    """Raise CardRefused where Feishu would not take a card callback's answer (卡片回传交互:
    `{}`, a toast, and/or `card: {"type": "raw", "data": <card>}`)."""
    answer = _only("the answer", answer, {"toast", "card"})
    if "toast" in answer:
        toast = _only("toast", answer["toast"], {"type", "content", "i18n"})
        _require(toast.get("type") in TOAST_TYPES, f"toast.type {toast.get('type')!r}")
        _require(isinstance(toast.get("content"), str) and toast["content"], "an empty toast")
    if "card" in answer:
        card = _only("card", answer["card"], {"type", "data"})
        _require(card.get("type") == "raw", "card.type is not raw")
        validate_card(card.get("data"), image_keys=image_keys)


# -- the fake API -------------------------------------------------------------------------

Form = dict[str, tuple[str | None, bytes]]  # field name → (file name, content)


def parse_form(content_type: str, raw: bytes) -> Form | None:
    """A multipart/form-data body's fields; None when it is not one."""
    if not content_type.startswith("multipart/form-data") or "boundary=" not in content_type:
        return None
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
    )
    if not message.is_multipart():
        return None
    fields: Form = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            fields[name] = (part.get_filename(), payload)
    return fields


@dataclass
class Stall:
    """Hold the next message call (`im/v1/messages`) until `release` is set, then drop
    the connection without an answer.

    `taken`: Feishu creates the message (kept by its `uuid`, in `delivered()`) before
    it holds the call, so the sender dies not knowing it went out; otherwise it is
    never created. `held` is set once the call is being held, so the test knows when to
    kill the sender. The call is recorded in `calls` (and `messages()`) either way.
    """

    taken: bool
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


@dataclass
class FakeFeishu:
    base: str = ""
    calls: list[tuple[str, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    tokens_issued: int = 0
    expire_next_token_use: bool = False
    rate_limit_next: int = 0
    fail_next_upload: int = 0  # the HTTP status the next upload gets (400 for good, 500 down)
    wrong_secret: bool = False  # the tenant token is refused with 10014 (app secret invalid)
    lose_next_answer: bool = False  # the next message is created, but answered with a 500
    # An outage: the next message calls get these (status, content type, body) instead.
    outage: list[tuple[int, str, str]] = field(default_factory=list)
    images: dict[str, bytes] = field(default_factory=dict)  # image_key → what was uploaded
    created: dict[str, dict[str, Any]] = field(default_factory=dict)  # uuid → message body
    card_updates: list[dict[str, Any]] = field(default_factory=list)
    card_token_uses: dict[str, int] = field(default_factory=dict)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    stall: Stall | None = None  # hold the next message call (see `Stall`)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def messages(self) -> list[dict[str, Any]]:
        """Every message call, taken or not (a retry shows twice)."""
        return [body for path, body, _ in self.calls if path.startswith(MESSAGES)]

    def delivered(self) -> list[dict[str, Any]]:
        """The messages Feishu took, once each."""
        with self.changed:
            return list(self.created.values())

    def uploads(self) -> list[dict[str, Any]]:
        return [body for path, body, _ in self.calls if path.startswith(IMAGES)]

    def wait_for(self, condition: Callable[[], object], timeout: float = 10.0) -> bool:
        """Wait until `condition()` holds (for what another thread will do)."""
        with self.changed:
            return self.changed.wait_for(lambda: bool(condition()), timeout)

    # What the fake answers; each runs with `changed` held.

    def refuse(self, path: str, problem: str) -> tuple[int, dict[str, Any]]:
        self.refused.append((path, problem))
        message = f"Failed to create card content, ext=ErrCode: 11310; ErrMsg: {problem}"
        return 400, {"code": CARD_CONTENT_ERROR, "msg": message}

    def message(
        self, path: str, query: dict[str, list[str]], body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        if not path.endswith("/reply"):
            kind = (query.get("receive_id_type") or [""])[0]
            if kind not in RECEIVE_ID_TYPES:
                return 400, {"code": 99992402, "msg": "field validation failed: receive_id_type"}
        try:
            content = json.loads(body.get("content", ""))
        except ValueError:
            return 400, {"code": 230001, "msg": "content is not a JSON string"}
        if body.get("msg_type") == "interactive":
            try:
                validate_card(content, image_keys=set(self.images))
            except CardRefused as refused:
                return self.refuse(path, str(refused))
        elif body.get("msg_type") != "text" or not isinstance(content.get("text"), str):
            return 400, {"code": 230001, "msg": "invalid message content"}
        uuid = body.get("uuid") or f"no-uuid-{time.time_ns()}"
        first = uuid not in self.created
        if first:
            self.created[uuid] = {**body, "message_id": f"om_{time.time_ns()}"}
        if first and self.lose_next_answer:
            self.lose_next_answer = False
            return 500, {"code": 2200, "msg": "Internal Error"}
        return 200, {"code": 0, "data": {"message_id": self.created[uuid]["message_id"]}}

    def upload(self, form: Form | None) -> tuple[int, dict[str, Any]]:
        """上传图片: the picture's key, or Feishu's refusal."""
        if form is None:
            return 400, {"code": 234001, "msg": "Invalid request param: not multipart/form-data"}
        image_type = form.get("image_type", (None, b""))[1].decode()
        filename, image = form.get("image", (None, b""))
        if self.fail_next_upload:
            status, self.fail_next_upload = self.fail_next_upload, 0
            return status, {"code": 234011 if status < 500 else 2200, "msg": "refused"}
        if image_type not in {"message", "avatar"} or filename is None:
            return 400, {"code": 234001, "msg": "Invalid request param"}
        if not image:
            return 400, {"code": 234001, "msg": "the image is empty"}
        if len(image) > MAX_IMAGE_BYTES:
            return 400, {"code": 234006, "msg": "The file size exceed the max value."}
        if not image.startswith(IMAGE_MAGIC):
            return 400, {"code": 234011, "msg": "Can't recognize image format."}
        key = f"img_v3_fake_{len(self.images) + 1}"
        self.images[key] = image
        return 200, {"code": 0, "msg": "success", "data": {"image_key": key}}

    def card_update(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        token = body.get("token")
        if (
            set(body) - {"token", "card"}
            or not isinstance(token, str)
            or not token.startswith("c-")
        ):
            return 400, {"code": 230001, "msg": "invalid token"}
        if self.card_token_uses.get(token, 0) >= CARD_TOKEN_USES:
            return 400, {"code": 230001, "msg": "the token was used up"}
        try:
            validate_card(body.get("card"), image_keys=set(self.images))
        except CardRefused as refused:
            return self.refuse(CARD_UPDATE, str(refused))
        self.card_token_uses[token] = self.card_token_uses.get(token, 0) + 1
        self.card_updates.append(body)
        return 200, {"code": 0, "msg": "success", "data": {}}


@contextmanager
def fake_feishu() -> Iterator[FakeFeishu]:
    fake = FakeFeishu()

    class Handler(JsonHandler):
        def do_GET(self) -> None:
            with fake.changed:
                fake.calls.append((self.path, {}, dict(self.headers)))
            if self.path.startswith("/open-apis/contact/v3/users/"):
                open_id = self.path.split("/")[-1].split("?")[0]
                self.answer(
                    {
                        "code": 0,
                        "data": {"user": {"name": {"ou_new": "Erin"}.get(open_id, "Someone")}},
                    }
                )
            else:
                self.answer({"code": 0, "data": {}})

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            url = urlsplit(self.path)
            path, query = url.path, parse_qs(url.query)
            content_type = self.headers.get("Content-Type", "")
            with fake.changed:
                stall, fake.stall = (fake.stall, None) if path == MESSAGES else (None, fake.stall)
            if stall is not None:
                self._hold(stall, path, query, raw)
                return
            with fake.changed:
                down = fake.outage.pop(0) if path == MESSAGES and fake.outage else None
                if down is not None:
                    fake.calls.append((self.path, json.loads(raw or b"{}"), dict(self.headers)))
                    self.answer_raw(*down)
                    return
                try:
                    status, answer, headers = self._answer(path, query, content_type, raw)
                finally:
                    fake.changed.notify_all()
            self.answer(answer, status, headers)

        def _hold(self, stall: Stall, path: str, query: dict[str, list[str]], raw: bytes) -> None:
            """Create the message if Feishu takes it, wait for the test, then hang up."""
            body = json.loads(raw or b"{}")
            with fake.changed:
                fake.calls.append((self.path, body, dict(self.headers)))
                if stall.taken:
                    fake.message(path, query, body)
                fake.changed.notify_all()
            stall.held.set()
            stall.release.wait(timeout=120)
            self.close_connection = True  # no answer: the sender never learns the outcome

        def _answer(
            self, path: str, query: dict[str, list[str]], content_type: str, raw: bytes
        ) -> tuple[int, dict[str, Any], dict[str, str]]:
            form = parse_form(content_type, raw) if path == IMAGES else None
            if path == IMAGES:
                image_type = (form or {}).get("image_type", (None, b""))[1].decode()
                filename, image = (form or {}).get("image", (None, b""))
                seen = {"image_type": image_type, "filename": filename, "size": len(image)}
            else:
                seen = json.loads(raw or b"{}")
            fake.calls.append((self.path, seen, dict(self.headers)))
            if path == "/open-apis/auth/v3/tenant_access_token/internal":
                if fake.wrong_secret:
                    return 400, {"code": 10014, "msg": "app secret invalid"}, {}
                fake.tokens_issued += 1
                token = {
                    "code": 0,
                    "tenant_access_token": f"t-{fake.tokens_issued}",
                    "expire": 7200,
                }
                return 200, token, {}
            if fake.expire_next_token_use:
                fake.expire_next_token_use = False
                return 400, {"code": 99991663, "msg": "Invalid access token for authorization."}, {}
            if fake.rate_limit_next:
                fake.rate_limit_next -= 1
                limited = {"code": 99991400, "msg": "request trigger frequency limit"}
                return 429, limited, {"x-ogw-ratelimit-reset": "2"}
            if path == IMAGES:
                return (*fake.upload(form), {})
            if path.startswith(MESSAGES):
                return (*fake.message(path, query, seen), {})
            if path == CARD_UPDATE:
                return (*fake.card_update(seen), {})
            return 200, {"code": 0, "data": {}}, {}

    with serve(Handler) as base:
        fake.base = base
        yield fake


# -- callbacks as Feishu sends them --------------------------------------------------------


def sealed(
    payload: dict[str, Any],
    *,
    key: str = ENCRYPT_KEY,
    sign_with: str | None = None,
    age_seconds: int = 0,
) -> tuple[bytes, dict[str, str]]:
    """An encrypted, signed callback body and its headers, as Feishu sends them
    (`age_seconds` back-dates the signature, as a replayed capture would be)."""
    body = json.dumps(
        {"encrypt": encrypt(json.dumps(payload, ensure_ascii=False), key, os.urandom(16))}
    ).encode()
    timestamp, nonce = str(int(time.time()) - age_seconds), "nonce-123"
    headers = {
        "Content-Type": "application/json",
        "X-Lark-Request-Timestamp": timestamp,
        "X-Lark-Request-Nonce": nonce,
        "X-Lark-Signature": signature(timestamp, nonce, sign_with or key, body),
    }
    return body, headers


def message_event(text: str, *, open_id: str = "ou_alice", chat_id: str = "oc_123", chat_type: str = "group",
                  mentions: list[dict[str, Any]] | None = None, event_id: str | None = None,
                  token: str = VERIFICATION_TOKEN) -> dict[str, Any]:  # fmt: skip
    return {
        "schema": "2.0",
        "header": {"event_id": event_id or f"ev-{time.time_ns()}", "event_type": "im.message.receive_v1",
                   "token": token, "create_time": str(int(time.time() * 1000)), "app_id": "cli_test"},
        "event": {
            "sender": {"sender_id": {"open_id": open_id}, "sender_type": "user"},
            "message": {"message_id": f"om_in_{time.time_ns()}", "chat_id": chat_id, "chat_type": chat_type,
                        "message_type": "text", "content": json.dumps({"text": text}, ensure_ascii=False),
                        "mentions": mentions or []},
        },
    }  # fmt: skip


def card_action(
    command: str, *, open_id: str = "ou_bob", chat_id: str = "oc_123",
    message_id: str = "om_card", card_token: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """A button click (卡片回传交互 `card.action.trigger`), with the token a delayed update
    of the card needs."""
    return {
        "schema": "2.0",
        "header": {"event_id": f"ev-{time.time_ns()}", "event_type": "card.action.trigger",
                   "token": VERIFICATION_TOKEN, "app_id": "cli_test"},
        "event": {"operator": {"open_id": open_id}, "token": card_token or f"c-{time.time_ns()}",
                  "action": {"tag": "button", "value": {"command": command}},
                  "context": {"open_message_id": message_id, "open_chat_id": chat_id}},
    }  # fmt: skip


def form_submission(
    value: dict[str, Any], form_value: dict[str, Any], *, open_id: str = "ou_bob",
    chat_id: str = "oc_123", message_id: str = "om_card", button: str = "opsbot_submit",
) -> dict[str, Any]:  # fmt: skip
    """A form container's submit button (卡片回传交互 `card.action.trigger`): the button's
    callback `value`, and `form_value` with what each input (by name) held."""
    payload = card_action("", open_id=open_id, chat_id=chat_id, message_id=message_id)
    payload["event"]["action"] = {"tag": "button", "name": button, "value": value,
                                  "form_value": form_value}  # fmt: skip
    return payload


# -- the bot, connected to the fake --------------------------------------------------------

MEMBERS = [
    {"id": "alice", "name": "Alice", "role": "admin", "feishu": "ou_alice"},
    {"id": "bob", "name": "Bob", "role": "editor", "feishu": "ou_bob"},
    {"id": "carol", "name": "Carol", "role": "editor", "feishu": "ou_carol"},
]


@dataclass
class FeishuRig(ChatRig):
    fake: FakeFeishu | None = None

    @property
    def feishu(self) -> FakeFeishu:
        assert self.fake is not None
        return self.fake

    def post(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return httpx.post(f"{self.url}/feishu/events", content=body, headers=headers, timeout=10)

    def send(self, payload: dict[str, Any]) -> httpx.Response:
        return self.post(*sealed(payload))

    def click(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A card button's callback; its answer, checked as Feishu checks it."""
        response = self.send(payload)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        validate_callback_answer(answer, image_keys=set(self.feishu.images))
        return answer

    def wait_for_messages(self, count: int) -> list[dict[str, Any]]:
        """What the bot sent (events are handled inline: it is all there already)."""
        messages = self.feishu.messages()
        assert len(messages) == count, messages
        assert self.feishu.refused == [], self.feishu.refused
        return messages


@contextmanager
def feishu_rig(sqlite_url: str) -> Iterator[FeishuRig]:
    """The bot with its Feishu plug-in in HTTP mode, on a fake Feishu."""
    with fake_feishu() as fake:
        settings = {"app_id": "cli_test", "app_secret": "secret", "verification_token": VERIFICATION_TOKEN,
                    "encrypt_key": ENCRYPT_KEY, "mode": "http", "base_url": fake.base}  # fmt: skip
        with chat_rig(
            sqlite_url, "feishu", settings, members=MEMBERS, channels={"feishu": "oc_123"}
        ) as rig:
            yielded: FeishuRig = FeishuRig.of(rig, fake)
            yield yielded
