"""The weekly summary as a PNG: the main metrics per platform over the last weeks.

For platforms that can show images (the weekly summary's post carries it); the text
summary stays complete without it. matplotlib is a default dependency, but the import
is still guarded: a slim install without it loses the chart, never the summary.

The figure is drawn with matplotlib's object API (`Figure`), not `pyplot`: the chart is
drawn in the scheduler's thread of a long-running server, where pyplot's global figure
registry and backend switch have no business.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Zen Hei", "Source Han Sans SC",
             "PingFang SC", "Microsoft YaHei", "SimHei")  # fmt: skip
LATIN_FONT = "DejaVu Sans"  # bundled with matplotlib: always there
METRICS_SHOWN = ("reads", "shares", "conversions", "net_followers")  # one panel each
TITLE_KEY = "__title__"  # the English title, in `fallback_labels`


class ChartsUnavailable(Exception):
    """matplotlib is not installed."""


def _cjk_font() -> str | None:
    """The first installed font that can show Chinese (tests monkeypatch this lookup)."""
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def _needs_cjk(texts: list[str]) -> bool:
    return any(ord(character) > 0x2E80 for text in texts for character in text)


@dataclass(frozen=True)
class ChartTexts:
    """What the chart will show, and in which font: decided before drawing, so that a
    missing CJK font turns into English words instead of empty boxes."""

    title: str
    labels: dict[str, str]
    font: str


def chart_texts(title: str, labels: dict[str, str], fallback_labels: dict[str, str]) -> ChartTexts:
    """The team's words with a CJK font when they need one and one is installed; else
    `fallback_labels` (English, the title under `__title__`) in the Latin font."""
    font = _cjk_font()
    if _needs_cjk([title, *labels.values()]) and font is None:
        return ChartTexts(fallback_labels.get(TITLE_KEY, title), dict(fallback_labels), LATIN_FONT)
    return ChartTexts(title, dict(labels), font or LATIN_FONT)


def _matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:  # pragma: no cover - depends on the install
        raise ChartsUnavailable("matplotlib is not installed: pip install matplotlib") from error


def summary_figure(
    series: dict[str, dict[str, list[float | None]]],
    *,
    last_week_start: date,
    texts: ChartTexts,
) -> Figure:
    """One small line chart per metric, one line per platform (oldest week first)."""
    _matplotlib()
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    weeks = len(next(iter(next(iter(series.values())).values()))) if series else 8
    starts = [last_week_start - timedelta(days=7 * back) for back in range(weeks - 1, -1, -1)]
    ticks = [start.strftime("%m-%d") for start in starts]
    labels = texts.labels
    with rc_context({"font.family": [texts.font]}):
        figure = Figure(figsize=(10, 6), dpi=100)
        axes = figure.subplots(2, 2)
        for axis, metric in zip(axes.flat, METRICS_SHOWN, strict=True):
            for platform, values in sorted(series.items()):
                points = [(x, v) for x, v in enumerate(values[metric]) if v is not None]
                if points:
                    axis.plot(
                        [x for x, _ in points],
                        [v for _, v in points],
                        marker="o",
                        label=labels.get(platform, platform),
                    )
            axis.set_xticks(range(weeks), ticks)
            axis.set_title(labels.get(metric, metric))
            axis.tick_params(axis="x", labelrotation=45, labelsize=8)
            axis.grid(alpha=0.3)
        handles, names = axes.flat[0].get_legend_handles_labels()
        if handles:
            figure.legend(handles, names, loc="upper right")
        figure.suptitle(texts.title)
        figure.tight_layout()
    return figure


def render_summary_chart(
    series: dict[str, dict[str, list[float | None]]],
    *,
    last_week_start: date,
    title: str,
    labels: dict[str, str],
    fallback_labels: dict[str, str],
) -> bytes:
    """The chart as PNG bytes; the title it shows is also the PNG's `Title` metadata.

    `labels` are the names in the team's language; when they need a CJK font and none is
    installed, `fallback_labels` (English) are used so the chart never shows empty boxes.
    """
    _matplotlib()
    from matplotlib import rc_context

    texts = chart_texts(title, labels, fallback_labels)
    figure = summary_figure(series, last_week_start=last_week_start, texts=texts)
    buffer = io.BytesIO()
    with rc_context({"font.family": [texts.font]}):  # text is laid out again when saved
        figure.savefig(buffer, format="png", metadata={"Title": texts.title})
    return buffer.getvalue()
