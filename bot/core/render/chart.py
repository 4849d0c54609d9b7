"""The weekly summary as a PNG: the main metrics per platform over the last weeks.

For platforms that can show images; the text summary stays complete without it.
matplotlib is an optional dependency (`pip install 'opsbot[charts]'`).
"""

from __future__ import annotations

import io
from datetime import date, timedelta

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Zen Hei", "Source Han Sans SC",
             "PingFang SC", "Microsoft YaHei", "SimHei")  # fmt: skip


class ChartsUnavailable(Exception):
    """matplotlib is not installed."""


def _cjk_font() -> str | None:
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def render_summary_chart(
    series: dict[str, dict[str, list[float | None]]],
    *,
    last_week_start: date,
    title: str,
    labels: dict[str, str],
    fallback_labels: dict[str, str],
) -> bytes:
    """One small line chart per metric, one line per platform; returns PNG bytes.

    `labels` are the names in the team's language; when they need a CJK font and none is
    installed, `fallback_labels` (English) are used so the chart never shows empty boxes.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError as error:  # pragma: no cover - depends on the install
        raise ChartsUnavailable("install opsbot[charts] to draw charts") from error

    font = _cjk_font()
    needs_cjk = any(
        ord(character) > 0x2E80 for text in (title, *labels.values()) for character in text
    )
    if needs_cjk and font is None:
        labels, title = fallback_labels, fallback_labels.get("__title__", title)
    weeks = len(next(iter(next(iter(series.values())).values()))) if series else 8
    starts = [last_week_start - timedelta(days=7 * back) for back in range(weeks - 1, -1, -1)]
    ticks = [start.strftime("%m-%d") for start in starts]
    metrics = ("reads", "shares", "conversions", "net_followers")
    with pyplot.rc_context({"font.family": [font] if font else ["DejaVu Sans"]}):
        figure, axes = pyplot.subplots(2, 2, figsize=(10, 6), dpi=100)
        for axis, metric in zip(axes.flat, metrics, strict=True):
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
        figure.suptitle(title)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        pyplot.close(figure)
    return buffer.getvalue()
