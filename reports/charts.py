"""Charts as SVG (matplotlib, Agg backend), placed inline in the report HTML."""

from __future__ import annotations

import io
import logging
from fractions import Fraction

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402

from .render import CjkFont  # noqa: E402

DOCUMENT_FONT = "FupinCJK"  # the @font-face family of static/report.css
_registered: set[str] = set()


def _use_font(font: CjkFont) -> None:
    # The installed file, registered once per process: matplotlib never downloads or guesses fonts.
    if str(font.path) not in _registered:
        font_manager.fontManager.addfont(str(font.path))
        # Single-weight CJK fonts make matplotlib warn on every label that it used weight 500.
        logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
        _registered.add(str(font.path))


def share_chart(months: list[str], series: list[tuple[str, list[Fraction | None]]], threshold: Fraction,
                labels: dict[str, str], font: CjkFont) -> bytes:
    """Monthly share lines (None = no purchases that month) against the threshold line."""
    _use_font(font)
    rc = {"font.family": [font.family, "DejaVu Sans"], "svg.fonttype": "none", "svg.hashsalt": "fupin",
          "axes.unicode_minus": False}
    with matplotlib.rc_context(rc):
        fig = Figure(figsize=(7.0, 2.8))
        ax = fig.add_subplot()
        x = list(range(len(months)))
        for i, (name, values) in enumerate(series):
            ys = [float(v) if v is not None else float("nan") for v in values]  # floats for plotting only
            ax.plot(x, ys, marker="o", markersize=3, linewidth=2.2 if i == 0 else 1.0,
                    alpha=1.0 if i == 0 else 0.75, label=name)
        ax.axhline(float(threshold), color="#c0392b", linestyle="--", linewidth=1.2, label=labels["threshold"])
        ax.set_xticks(x, [m[2:] for m in months], fontsize=7)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.tick_params(axis="y", labelsize=7)
        ax.set_ylabel(labels["share"], fontsize=8)
        ax.set_title(labels["title"], fontsize=9)
        ax.set_ylim(bottom=0)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        fig.tight_layout()
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = buf.getvalue()
    # Text stays text (searchable, light to draw) but in the document's own subset font, so the
    # full system font is never embedded.
    svg = svg.replace(f"font-family: '{font.family}', 'DejaVu Sans'", f"font-family: {DOCUMENT_FONT}")
    return svg.encode("utf-8")
