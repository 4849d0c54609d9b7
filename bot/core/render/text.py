"""Reply → plain text, for the console (and as the fallback of richer platforms).

Tables are aligned by display width, so Chinese titles (two columns per character)
line up with Latin ones.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from bot.core.messages import Reply, Section, Tone

TONE_ICONS = {Tone.SUCCESS: "✅ ", Tone.ERROR: "❌ ", Tone.WARNING: "⚠️ ", Tone.INFO: ""}
INDENT = "  "
COLUMN_GAP = "  "


@lru_cache(maxsize=4096)  # a list reply measures every cell, and cells recur a lot
def display_width(text: str) -> int:
    """How many terminal columns `text` takes: wide East Asian characters take two."""
    if text.isascii():
        return len(text)
    width = 0
    for character in text:
        if unicodedata.combining(character):
            continue
        width += 2 if unicodedata.east_asian_width(character) in ("W", "F") else 1
    return width


LIST_TITLE_COLUMNS = 40  # a long title in a list is cut, so one row does not widen them all


def shorten(text: str, columns: int = LIST_TITLE_COLUMNS) -> str:
    """`text` cut to `columns` terminal columns with `…` (a wide character counts two)."""
    if display_width(text) <= columns:
        return text
    kept, width = [], 0
    for character in text:
        width += display_width(character)
        if width > columns - 1:
            break
        kept.append(character)
    return "".join(kept) + "…"


def render_rows(rows: list[tuple[str, ...]]) -> list[str]:
    """Align the columns of a table; columns empty in every row are left out."""
    if not rows:
        return []
    columns = max(len(row) for row in rows)
    cells = [list(row) + [""] * (columns - len(row)) for row in rows]
    kept = [index for index in range(columns) if any(row[index] for row in cells)]
    measured = [[display_width(cell) for cell in row] for row in cells]
    widths = {index: max(row[index] for row in measured) for index in kept}
    return [
        COLUMN_GAP.join(
            row[index] + " " * (widths[index] - row_widths[index]) for index in kept
        ).rstrip()
        for row, row_widths in zip(cells, measured, strict=True)
    ]


def _render_section(section: Section, rows: list[str]) -> list[str]:
    lines = []
    if section.title:
        lines.append(section.title)
    lines.extend(INDENT + line for line in rows)
    lines.extend(INDENT + line for line in section.lines)
    lines.extend(f"{INDENT}{name}: {value}" for name, value in section.fields)
    return lines


def render_text(reply: Reply, aligned: list[list[str]] | None = None) -> str:
    """The reply as text; `aligned`, each section's rows as `render_rows` gives them, when
    the caller has them already (Slack aligns them for its blocks too)."""
    if aligned is None:
        aligned = [render_rows(section.rows) for section in reply.sections]
    lines = [TONE_ICONS[reply.tone] + reply.title]
    for section, rows in zip(reply.sections, aligned, strict=True):
        lines.extend(_render_section(section, rows))
    return "\n".join(lines)
