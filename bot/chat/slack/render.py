"""Reply → Slack Block Kit, within Slack's limits (50 blocks a message, 3,000 characters a
text block, 10 fields a section)."""

from __future__ import annotations

from typing import Any

from bot.core.messages import Reply
from bot.core.render.text import TONE_ICONS, render_rows, render_text

MAX_BLOCKS = 50
MAX_TEXT = 3000
MAX_FIELDS = 10
MAX_BUTTONS = 25
ACTION_PREFIX = "opsbot_run"

Block = dict[str, Any]


def escape(text: str) -> str:
    """Slack's three control characters, so user text is never read as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _text_blocks(text: str) -> list[Block]:
    blocks = []
    while text:
        cut = text if len(text) <= MAX_TEXT else text[: text.rfind("\n", 0, MAX_TEXT) or MAX_TEXT]
        cut = cut or text[:MAX_TEXT]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": cut}})
        text = text[len(cut) :].lstrip("\n")
    return blocks


def _table(lines: list[str]) -> list[Block]:
    """Aligned rows in a code block (the only monospace Slack has), split under the limit."""
    blocks: list[Block] = []
    chunk: list[str] = []
    size = 0  # of the chunk's lines, a newline each
    for line in lines:
        if size + len(line) + 8 > MAX_TEXT:
            blocks.append(
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": "```" + "\n".join(chunk) + "```"},
                }
            )
            chunk, size = [], 0
        chunk.append(escape(line))
        size += len(chunk[-1]) + 1
    if chunk:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "```" + "\n".join(chunk) + "```"},
            }
        )
    return blocks


def render_blocks(reply: Reply, aligned: list[list[str]] | None = None) -> list[Block]:
    """The reply's blocks; `aligned`, each section's rows as `render_rows` gives them."""
    if aligned is None:
        aligned = [render_rows(section.rows) for section in reply.sections]
    blocks: list[Block] = _text_blocks(f"{TONE_ICONS[reply.tone]}*{escape(reply.title)}*")
    for section, rows in zip(reply.sections, aligned, strict=True):
        if section.title:
            blocks.extend(_text_blocks(f"*{escape(section.title)}*"))
        if rows:
            blocks.extend(_table(rows))
        if section.lines:
            blocks.extend(_text_blocks("\n".join(escape(line) for line in section.lines)))
        for start in range(0, len(section.fields), MAX_FIELDS):
            fields = section.fields[start : start + MAX_FIELDS]
            blocks.append(
                {
                    "type": "section",
                    "fields": [
                        {"type": "mrkdwn", "text": f"*{escape(n)}*\n{escape(v)}"} for n, v in fields
                    ],
                }
            )
    if reply.buttons:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": f"{ACTION_PREFIX}_{index}",
                        "text": {"type": "plain_text", "text": button.label[:75]},
                        "value": button.command[:2000],
                        **(
                            {"style": button.style} if button.style in ("primary", "danger") else {}
                        ),
                    }
                    for index, button in enumerate(reply.buttons[:MAX_BUTTONS])
                ],
            }
        )
    return blocks


def render_messages(reply: Reply) -> list[tuple[list[Block], str]]:
    """The reply as one or more messages, each within the block limit, with its fallback
    text (what notifications and screen readers show)."""
    aligned = [render_rows(section.rows) for section in reply.sections]  # once for both
    blocks = render_blocks(reply, aligned)
    text = render_text(reply, aligned)
    chunks = [blocks[start : start + MAX_BLOCKS] for start in range(0, len(blocks), MAX_BLOCKS)]
    return [
        (chunk, text[:MAX_TEXT] if index == 0 else reply.title[:MAX_TEXT])
        for index, chunk in enumerate(chunks)
    ]
