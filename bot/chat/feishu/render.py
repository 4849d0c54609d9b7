"""Reply → a Feishu card in the JSON 2.0 format, or plain text where a card does not fit.

JSON 1.0 (`config.wide_screen_mode`, top-level `elements`, `div` + `lark_md`, `action`)
gets no new features; 2.0 is what Feishu builds on. What this module relies on, from
Feishu's own documentation (open.feishu.cn → 飞书卡片):

- 卡片 JSON 2.0 版本更新说明 (`feishu-cards/card-json-v2-breaking-changes-release-notes`):
  `"schema": "2.0"` must be declared; `elements` moved under `body`; the `action` module,
  `i18n_elements` and `fallback` are gone; `update_multi` (a shared card) may only be
  true; and, unlike 1.0, **a property 2.0 does not know is an error**, so every property
  emitted here is a documented one (`tests/fake_feishu.py` refuses any other).
- 富文本 Markdown, 2.0 (`card-json-v2-components/content-components/rich-text`): tag
  `markdown` with `content`; it renders all CommonMark except HTML blocks, plus tags such
  as `<at>`, `<font>`, `<link>`, `<person>`, `<text_tag>`, and emoji keys (`:OK:`). Its
  «特殊字符转义说明» says to show a character markdown would read (`* ~ > < - ! [ ] ( ) #
  : + _ $ \\` …) it must be written as an HTML entity `&#N;` — which `escape` does.
  Lines are joined with `\\n`, as the documentation's own examples do.
- 按钮 button, 2.0 (`.../interactive-components/button`): `text` is plain_text (≤ 100
  characters), `type`, and a click that calls us back is
  `behaviors: [{"type": "callback", "value": {...}}]`; buttons may stand in columns.
- 分栏 column_set / column (`.../containers/column-set`): `flex_mode: flow` wraps the row
  of buttons on a narrow screen.
- 图片 img, 2.0 (`.../content-components/image`): `img_key` from 上传图片
  (`POST /open-apis/im/v1/images`), `alt` as plain_text.
- Cards over 30 KB are refused (延时更新消息卡片: 卡片大小需控制在 30KB 以内), so a
  reply whose card would be larger goes as a text message.

A reply's `Form` becomes a form container (`form_card_elements`; what it relies on is in
that function's docstring), and `submitted_command` turns its submission back into the
command the form stands for.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bot.core.i18n import CATALOGUES
from bot.core.messages import Button, Form, FormField, Reply, Section, Tone
from bot.core.render.text import render_text

MAX_CARD_BYTES = 28_000  # Feishu refuses cards over 30 KB; a margin for the envelope
MAX_TITLE_CHARS = 200
MAX_BUTTON_TEXT_CHARS = 100  # Feishu's limit for a button's text
MAX_ALT_CHARS = 500
MAX_INPUT_CHARS = 1000  # an input's `max_length` may be at most 1000 (its default, too)
MAX_PLACEHOLDER_CHARS = 100
INPUT_ROWS = 3  # a multi-line input's height; Feishu's default of 5 is tall for a phone
FORM_NAME_PREFIX = "opsbot_form_"
SUBMIT_BUTTON_NAME = "opsbot_submit"
HEADER_COLOURS = {
    Tone.SUCCESS: "green",
    Tone.ERROR: "red",
    Tone.WARNING: "orange",
    Tone.INFO: "blue",
}
BUTTON_TYPES = {"primary": "primary", "danger": "danger"}
# What a sender may assume an image key looks like, to tell before uploading whether the
# card will fit at all (Feishu's keys are about this long: `img_v3_0238_073f…622j`).
IMAGE_KEY_PLACEHOLDER = "img_v3_" + "0" * 48

Card = dict[str, Any]

# The characters 2.0 markdown reads as syntax (the documentation's table, with `&` so an
# entity typed by someone shows as typed, `|` for tables and `=` for setext headings).
_SYNTAX = frozenset("\\`*_~[]()#+-!<>|&$=")
_EMOJI_COLON = re.compile(r":(?=[A-Za-z])")  # `:OK:`; `https://` and `09:00` stay as they are
_LIST_NUMBER = re.compile(r"^(\d+)\.", re.MULTILINE)  # `1. ` would start an ordered list
_LEADING_BLANKS = re.compile(r"^[ \t]+", re.MULTILINE)  # 4 spaces would start a code block


def escape(text: str) -> str:
    """Text shown as written in a 2.0 `markdown` element: nothing in it can become
    markup, a mention (`<at id=all>`), a link, an emoji or a list.

    Feishu's rule for 2.0 markdown is HTML entities (`&#42;` for `*`), not backslashes.
    Leading blanks become no-break spaces, so indentation still shows.
    """
    escaped = "".join(f"&#{ord(char)};" if char in _SYNTAX else char for char in text)
    escaped = _EMOJI_COLON.sub("&#58;", escaped)
    escaped = _LIST_NUMBER.sub(r"\1&#46;", escaped)
    return _LEADING_BLANKS.sub(lambda blanks: "&#160;" * len(blanks.group(0)), escaped)


def plain_text(content: str) -> dict[str, str]:
    return {"tag": "plain_text", "content": content}


def _section_markdown(section: Section) -> str:
    lines = []
    if section.title:
        lines.append(f"**{escape(section.title.strip())}**")
    lines.extend(" · ".join(escape(cell) for cell in row if cell) for row in section.rows)
    lines.extend(escape(line) for line in section.lines)
    lines.extend(f"**{escape(name)}**：{escape(value)}" for name, value in section.fields)
    return "\n".join(lines)


def _button(button: Button) -> dict[str, Any]:
    return {
        "tag": "button",
        "text": plain_text(button.label[:MAX_BUTTON_TEXT_CHARS]),
        "type": BUTTON_TYPES.get(button.style, "default"),
        "behaviors": [{"type": "callback", "value": {"command": button.command}}],
    }


def render_card(
    reply: Reply, *, image_key: str | None = None, submit_label: str | None = None
) -> Card:
    """The reply as a JSON 2.0 card: a coloured header, a markdown element per section
    (rules between them), the picture when it was uploaded (`image_key`), a row of
    buttons that call back with their command.

    A reply with a form shows the form container instead of its sections: the sections
    are the form's fields as text, for platforms that have no forms. `submit_label` is
    the submit button's text in the bot's language; without it (a sender has no
    translator), the language the form's title is written in decides.
    """
    elements: list[dict[str, Any]] = []
    if reply.form is not None:
        elements.extend(form_card_elements(reply.form, submit_label=submit_label))
    for section in reply.sections if reply.form is None else []:
        content = _section_markdown(section)
        if not content:
            continue
        if elements:
            elements.append({"tag": "hr"})
        elements.append({"tag": "markdown", "content": content})
    if image_key and reply.image is not None:
        elements.append(
            {"tag": "img", "img_key": image_key, "alt": plain_text(reply.image.alt[:MAX_ALT_CHARS])}
        )
    if reply.buttons:
        elements.append(
            {
                "tag": "column_set",
                "flex_mode": "flow",
                "columns": [
                    {"tag": "column", "width": "auto", "elements": [_button(button)]}
                    for button in reply.buttons
                ],
            }
        )
    return {
        "schema": "2.0",
        "config": {"update_multi": True},  # 2.0 allows shared cards only; updates need it
        "header": {
            "title": plain_text(reply.title[:MAX_TITLE_CHARS]),
            "template": HEADER_COLOURS[reply.tone],
        },
        "body": {"elements": elements},
    }


def form_card_elements(form: Form, *, submit_label: str | None = None) -> list[dict[str, Any]]:
    """A `Form` as a card JSON 2.0 form container: one input per field, then a submit button.

    What this relies on, from Feishu's documentation (open.feishu.cn → 飞书卡片):

    - 表单容器 form, 2.0 (`card-json-v2-components/containers/form-container`): tag `form`
      with a `name` unique in the card and its `elements`; it may only stand at the root
      of `body.elements` and holds no table and no other form. What is typed into it stays
      in the client until a button inside it with `form_action_type: "submit"` is clicked;
      then all of it is called back at once. Interactive components inside a form need a
      `name`, unique in the card, or the submission fails.
    - 输入框 input, 2.0 (`.../interactive-components/input`): `name` (which input a value
      came from), `required` (only inside a form: the client then refuses to submit it
      empty, without calling us), `label` and `placeholder` as plain_text (placeholder at
      most 100 characters), `default_value` (prefilled, shown as typed but not yet
      submitted), `input_type: "multiline_text"` with `rows`, and `max_length` in
      [1, 1000] (default 1000) — so a prefilled value is cut to 1000 characters.
    - 按钮 button, 2.0: `form_action_type: "submit"` and a `name`; its callback behaviour's
      `value` comes back with the submission.
    - 卡片回传交互 (`card.action.trigger`, `card-callback-communication`): a submission
      arrives with `action.form_value` = {input name: text} and `action.value` = the
      submit button's callback value, which is why the value carries the submit command
      and each field's name and prefix: nothing has to be remembered between the card
      and its submission (as the Slack modal's `private_metadata` does).
    """
    inputs = [_input(item) for item in form.fields]
    value = {
        "form": form.form_id,
        "submit": form.submit_command,
        "fields": [[item.name, item.prefix] for item in form.fields],
    }
    label = submit_label or _submit_label(form.title)
    submit = {
        "tag": "button",
        "name": SUBMIT_BUTTON_NAME,
        "text": plain_text(label[:MAX_BUTTON_TEXT_CHARS]),
        "type": "primary",
        "form_action_type": "submit",
        "behaviors": [{"type": "callback", "value": value}],
    }
    return [
        {"tag": "form", "name": f"{FORM_NAME_PREFIX}{form.form_id}", "elements": [*inputs, submit]}
    ]


def _input(item: FormField) -> dict[str, Any]:
    element: dict[str, Any] = {
        "tag": "input",
        "name": item.name,
        "label": plain_text(item.label),
        "placeholder": plain_text(item.label[:MAX_PLACEHOLDER_CHARS]),
        "input_type": "multiline_text",
        "rows": INPUT_ROWS,
        "max_length": MAX_INPUT_CHARS,
        "required": not item.optional,
    }
    if item.value:
        element["default_value"] = item.value[:MAX_INPUT_CHARS]
    return element


def _submit_label(title: str) -> str:
    """The submit button's text in the language the form is written in (the renderer is
    not told the bot's locale when a sender posts the card)."""
    locale = "zh-CN" if re.search(r"[\u4e00-\u9fff]", title) else "en"
    return CATALOGUES[locale]["button.submit"]


def submitted_command(action: dict[str, Any]) -> str | None:
    """The command a form container's submission stands for (`action.value` as
    `form_card_elements` made it, `action.form_value` as typed), or None when the
    callback is not a form's submission."""
    value = action.get("value")
    typed = action.get("form_value")
    if not isinstance(value, dict) or "submit" not in value or not isinstance(typed, dict):
        return None
    fields = [
        (str(pair[0]), str(pair[1]))
        for pair in value.get("fields") or []
        if isinstance(pair, list) and len(pair) == 2
    ]
    form = Form(
        form_id=str(value.get("form", "")), title="", submit_command=str(value["submit"]),
        fields=tuple(FormField(name, name, prefix=prefix) for name, prefix in fields),
    )  # fmt: skip
    values = {name: text for name, text in typed.items() if isinstance(text, str)}
    return form.command_for(values)


def card_fits(card: Card) -> bool:
    """Whether Feishu takes a card this size (in a message, a callback's answer or an
    update)."""
    return len(json.dumps(card, ensure_ascii=False).encode()) <= MAX_CARD_BYTES


def render_message(reply: Reply, *, image_key: str | None = None) -> tuple[str, dict[str, Any]]:
    """(msg_type, content) for the message API: a card, or text when the card is too big
    (the text has everything but the picture, which a text message cannot carry)."""
    card = render_card(reply, image_key=image_key)
    if card_fits(card):
        return "interactive", card
    return "text", {"text": render_text(reply)[: MAX_CARD_BYTES // 3]}
