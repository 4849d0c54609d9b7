"""Reply → a Feishu interactive card (header, `lark_md` sections, buttons), or plain text
where a card does not fit."""

from __future__ import annotations

import json
from typing import Any

from bot.core.messages import Reply, Tone
from bot.core.render.text import render_text

MAX_CARD_BYTES = 28_000  # Feishu refuses cards over 30 KB
HEADER_COLOURS = {
    Tone.SUCCESS: "green",
    Tone.ERROR: "red",
    Tone.WARNING: "orange",
    Tone.INFO: "blue",
}
BUTTON_TYPES = {"primary": "primary", "danger": "danger"}

Card = dict[str, Any]


def escape(text: str) -> str:
    """Characters lark_md would read as markup or as a mention tag."""
    return text.replace("<", "&lt;").replace(">", "&gt;").replace("*", "\\*").replace("~", "\\~")


def render_card(reply: Reply) -> Card:
    elements: list[dict[str, Any]] = []
    for index, section in enumerate(reply.sections):
        if index:
            elements.append({"tag": "hr"})
        lines = []
        if section.title:
            lines.append(f"**{escape(section.title.strip())}**")
        lines.extend(" · ".join(escape(cell) for cell in row if cell) for row in section.rows)
        lines.extend(escape(line) for line in section.lines)
        lines.extend(f"**{escape(name)}**：{escape(value)}" for name, value in section.fields)
        if lines:
            elements.append({"tag": "div", "text": {"tag": "lark_md", "content": "\n".join(lines)}})
    if reply.buttons:
        elements.append(
            {
                "tag": "action",
                "actions": [
                    {
                        "tag": "button",
                        "text": {"tag": "plain_text", "content": button.label},
                        "type": BUTTON_TYPES.get(button.style, "default"),
                        "value": {"command": button.command},
                    }
                    for button in reply.buttons
                ],
            }
        )
    return {
        "config": {"wide_screen_mode": True, "update_multi": True},
        "header": {
            "title": {"tag": "plain_text", "content": reply.title[:200]},
            "template": HEADER_COLOURS[reply.tone],
        },
        "elements": elements,
    }


def render_message(reply: Reply) -> tuple[str, dict[str, Any]]:
    """(msg_type, content) for the message API: a card, or text when the card is too big."""
    card = render_card(reply)
    if len(json.dumps(card, ensure_ascii=False).encode()) <= MAX_CARD_BYTES:
        return "interactive", card
    return "text", {"text": render_text(reply)[: MAX_CARD_BYTES // 3]}
