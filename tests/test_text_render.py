"""Console text: icons by tone, and tables aligned by display width (CJK is two columns)."""

from __future__ import annotations

from bot.core.messages import Reply, Section, Tone
from bot.core.render.text import display_width, render_text


def test_display_width_counts_wide_characters_twice() -> None:
    assert display_width("abc") == 3
    assert display_width("公众号") == 6
    assert display_width("👍3") == 3


def test_rows_line_up_across_scripts_and_empty_columns_vanish() -> None:
    reply = Reply(
        "选题库",
        sections=[Section(rows=[("#1", "高", "冬至海报", ""), ("#12", "mid", "Winter", "")])],
    )
    assert render_text(reply).splitlines() == [
        "选题库",
        "  #1   高   冬至海报",
        "  #12  mid  Winter",
    ]


def test_tone_icons_section_titles_and_fields() -> None:
    reply = Reply(
        "Saved",
        tone=Tone.SUCCESS,
        sections=[Section(title="Details", lines=["one"], fields=[("score", "4.33")])],
    )
    assert render_text(reply) == "✅ Saved\nDetails\n  one\n  score: 4.33"
    assert render_text(Reply("No", tone=Tone.ERROR)) == "❌ No"
