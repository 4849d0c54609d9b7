"""Reply → WeCom markdown (app messages and the group robot) or a button template card,
split to stay under WeCom's byte limits."""

from __future__ import annotations

from typing import Any

from bot.core.messages import Reply, Tone

APP_MARKDOWN_BYTES = 2048
ROBOT_MARKDOWN_BYTES = 4096
CARD_TITLE_CHARS = 26
CARD_TEXT_CHARS = 112
BUTTON_KEY_BYTES = 1024
TONE_COLOURS = {
    Tone.SUCCESS: "info",
    Tone.ERROR: "warning",
    Tone.WARNING: "warning",
    Tone.INFO: "comment",
}


def render_markdown(reply: Reply) -> str:
    lines = [f'**<font color="{TONE_COLOURS[reply.tone]}">{reply.title}</font>**']
    for section in reply.sections:
        if section.title:
            lines.append(f"**{section.title.strip()}**")
        lines.extend("  ".join(cell for cell in row if cell) for row in section.rows)
        lines.extend(section.lines)
        lines.extend(f"{name}：{value}" for name, value in section.fields)
    return "\n".join(lines)


def split_by_bytes(text: str, limit: int) -> list[str]:
    """Whole lines per chunk where possible, never more than `limit` UTF-8 bytes."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line.encode()) > limit:  # a single line longer than the limit
            cut = len(line)
            while len(line[:cut].encode()) > limit:
                cut -= 1
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:cut])
            line = line[cut:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate.encode()) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks


def render_template_card(reply: Reply, task_id: str) -> dict[str, Any]:
    """A button_interaction card: the title, the first lines, one button per shortcut."""
    body = render_markdown(reply).split("\n", 1)[1:] or [""]
    return {
        "card_type": "button_interaction",
        "main_title": {
            "title": reply.title[:CARD_TITLE_CHARS],
            "desc": reply.title[CARD_TITLE_CHARS:][:CARD_TEXT_CHARS],
        },
        "sub_title_text": body[0].replace("**", "")[:CARD_TEXT_CHARS],
        "task_id": task_id,
        "button_list": [
            {
                "text": button.label[:10],
                "style": 1 if button.style == "primary" else 2,
                "key": button.command.encode()[:BUTTON_KEY_BYTES].decode(errors="ignore"),
            }
            for button in reply.buttons[:6]
        ],
    }
