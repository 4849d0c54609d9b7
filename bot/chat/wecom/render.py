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


# -- the smart robot (long connection) ----------------------------------------------------

ROBOT_LONG_MARKDOWN_BYTES = 20480  # a smart robot's markdown: at most 20,480 UTF-8 bytes
DONE_BUTTON = "✓"  # what a clicked card keeps when its reply has no buttons of its own


def card_shows_all(reply: Reply) -> bool:
    """Whether the button card (`render_template_card`) shows the whole reply: its title
    and at most one short line; otherwise the markdown goes first."""
    body = render_markdown(reply).split("\n")[1:]
    return (
        len(body) <= 1
        and len(reply.title) <= CARD_TITLE_CHARS + CARD_TEXT_CHARS
        and all(len(line.replace("**", "")) <= CARD_TEXT_CHARS for line in body)
    )


def robot_bodies(reply: Reply, task_id: str) -> list[dict[str, Any]]:
    """The reply as smart-robot message bodies (for `aibot_respond_msg` and
    `aibot_send_msg`): markdown split under the robot's limit, then a button card when
    the reply has buttons (the card alone when it shows everything). The same list on
    every try, so that an outbox retry resumes at the first part not yet taken."""
    bodies: list[dict[str, Any]] = []
    if not reply.buttons or not card_shows_all(reply):
        bodies.extend(
            {"msgtype": "markdown", "markdown": {"content": chunk}}
            for chunk in split_by_bytes(render_markdown(reply), ROBOT_LONG_MARKDOWN_BYTES)
        )
    if reply.buttons:
        card = render_template_card(reply, task_id)
        bodies.append({"msgtype": "template_card", "template_card": card})
    return bodies


def render_card_update(reply: Reply, task_id: str, clicked: str) -> dict[str, Any]:
    """The card a click turns into: the click's reply, with its own buttons, or else one
    "✓" that runs the clicked command again (the card must keep a button, and running a
    vote or a confirmation twice changes nothing)."""
    card = render_template_card(reply, task_id)
    if not card["button_list"]:
        card["button_list"] = [{"text": DONE_BUTTON, "style": 2, "key": clicked}]
    return card
