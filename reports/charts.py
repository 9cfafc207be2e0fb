"""Charts for the reports (matplotlib, Agg backend): the 12-month share chart as a PNG picture,
the planning bar charts and county maps as SVG placed inline in the report HTML."""

from __future__ import annotations

import io
import logging
import math
from fractions import Fraction

import matplotlib

matplotlib.use("Agg")

from markupsafe import Markup  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter  # noqa: E402
from PIL import Image  # noqa: E402

from .figures import grouped  # noqa: E402
from .render import CjkFont, printed_width  # noqa: E402

DOCUMENT_FONT = "FupinCJK"  # the @font-face family of static/report.css
_registered: set[str] = set()


def _rc(font: CjkFont) -> dict:
    """matplotlib settings for `font`, registered from the installed file once per process."""
    if str(font.path) not in _registered:
        # matplotlib never downloads or guesses fonts: it gets the installed file.
        font_manager.fontManager.addfont(str(font.path))
        # Single-weight CJK fonts make matplotlib warn on every label that it used weight 500.
        logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
        _registered.add(str(font.path))
    return {"font.family": [font.family, "DejaVu Sans"], "svg.fonttype": "none", "svg.hashsalt": "fupin",
            "axes.unicode_minus": False}


def _svg(fig: Figure, font: CjkFont) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    # Text stays text (searchable, light to draw) but in the document's own font face, so the
    # system font is never embedded a second time.
    return buf.getvalue().replace(f"font-family: '{font.family}', 'DejaVu Sans'", f"font-family: {DOCUMENT_FONT}")


def _png(fig: Figure, dpi: int = 150) -> bytes:
    """An opaque RGB PNG, quickly compressed: WeasyPrint decodes and re-compresses every PNG anyway,
    and an alpha channel would make it compress a second picture (the PDF soft mask).
    No timestamp or software stamp: the same data gives the same bytes."""
    fig.set_dpi(dpi)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    picture = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buf = io.BytesIO()
    picture.convert("RGB").save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _label_inches(text: str, points: float) -> float:
    """The printed width of `text` at `points` size, in the report font's own widths."""
    return printed_width(text) * points / 2 / 72


_LEGEND_ROW = 0.16  # inches a 7 pt legend entry takes
_PLOT = 2.36  # inches of plot height in the share chart
_LEGEND_ROWS = 14


def share_chart(months: list[str], series: list[tuple[str, list[Fraction | None]]], threshold: Fraction,
                labels: dict[str, str], font: CjkFont) -> bytes:
    """Monthly share lines (None = no purchases that month) against the threshold line, as PNG.

    A picture, not inline SVG: WeasyPrint lays out every SVG element like text, which cost the
    monthly report about half a second per document.
    """
    with matplotlib.rc_context(_rc(font)):
        return _png(share_figure(months, series, threshold, labels))


def share_figure(months: list[str], series: list[tuple[str, list[Fraction | None]]], threshold: Fraction,
                 labels: dict[str, str]) -> Figure:
    """The share chart's figure, its legend outside the plot: at the right when the names are short
    and few, else below the plot in as many columns as fit, the figure growing by its rows.

    The margins are computed from the legend's labels instead of by `tight_layout`, which draws
    the figure a second time (a third of the chart's time).
    """
    width = 7.0
    entries = [name for name, _ in series] + [labels["threshold"]]
    entry = max(_label_inches(e, 7) for e in entries) + 0.5  # marker, gap and column spacing
    beside = entry <= 2.4 and len(entries) * _LEGEND_ROW <= _PLOT
    columns = 1 if beside else max(1, min(len(entries), int((width - 0.4) // entry)))
    if math.ceil(len(entries) / columns) > _LEGEND_ROWS:
        # Too many long names for a legend of a readable height: the codes (the tables name them).
        series = [series[0]] + [(name.split(" ")[0], values) for name, values in series[1:]]
        entries = [name for name, _ in series] + [labels["threshold"]]
        entry = max(_label_inches(e, 7) for e in entries) + 0.5
        columns = max(1, min(len(entries), int((width - 0.4) // entry)))
    below = 0.0 if beside else math.ceil(len(entries) / columns) * _LEGEND_ROW + 0.2
    height = _PLOT + 0.44 + below
    fig = Figure(figsize=(width, height))
    # Inches: y tick labels and axis title on the left, month labels below, then the legend
    # below them or at the right. No title: the report's heading above the chart names it.
    fig.subplots_adjust(left=0.62 / width, bottom=(0.32 + below) / height, top=1 - 0.12 / height,
                        right=1 - (entry + 0.1 if beside else 0.25) / width)
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
    ax.set_ylim(bottom=0)
    ax.grid(axis="y", alpha=0.3)
    if beside:
        legend = ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    else:
        legend = fig.legend(*ax.get_legend_handles_labels(), fontsize=7, loc="upper left", ncols=columns,
                            bbox_to_anchor=(0.3 / width, below / height), frameon=False)
    for text in legend.get_texts():
        text.set_parse_math(False)  # canteen names are data: a '$' must print, not start math mode
    return fig


def _two_lines(name: str, inches: float = 1.6) -> str:
    """A long name split in two lines near its middle (names are data: they are never cut)."""
    if _label_inches(name, 7) <= inches or len(name) < 4:
        return name
    half = len(name) // 2
    cut = next((k for k in sorted(range(1, len(name)), key=lambda k: abs(k - half)) if name[k - 1] == " "), half)
    return name[:cut].rstrip() + "\n" + name[cut:].lstrip()


def bar_chart(categories: list[str], series: list[tuple[str, list[int]]], title: str, font: CjkFont) -> Markup:
    """Horizontal grouped bars, one group per category, as inline SVG in the document's font."""
    with matplotlib.rc_context(_rc(font)):
        svg = _svg(_bar_figure(categories, series, title), font)
    # Inline, not <img> (see reports.issue); matplotlib has XML-escaped every label.
    return Markup(svg[svg.index("<svg"):])


def bar_chart_png(categories: list[str], series: list[tuple[str, list[int]]], title: str, font: CjkFont) -> bytes:
    """The same bars as a PNG picture (for web pages, whose policy allows no inline styles)."""
    with matplotlib.rc_context(_rc(font)):
        return _png(_bar_figure(categories, series, title), dpi=110)


def _bar_figure(categories: list[str], series: list[tuple[str, list[int]]], title: str) -> Figure:
    n, k = len(categories), max(len(series), 1)
    fig = Figure(figsize=(7.0, max(2.5, 0.6 + 0.26 * n * (1 + 0.35 * (k - 1)))))
    ax = fig.add_subplot()
    height = 0.8 / k
    ys = list(range(n))
    colours = ["#9aa5b1", "#1f6fb4", "#e07b39"]
    for i, (label, values) in enumerate(series):
        bars = ax.barh([y - 0.4 + height * (i + 0.5) for y in ys], values, height=height, label=label,
                       color=colours[i % len(colours)])
        ax.bar_label(bars, labels=[grouped(v) for v in values], fontsize=6, padding=1.5)
    ax.set_yticks(ys, [_two_lines(c) for c in categories], fontsize=7)
    # County names are data: a '$' must print, not start matplotlib's math mode.
    for text in ax.get_yticklabels():
        text.set_parse_math(False)
    ax.invert_yaxis()
    ax.tick_params(axis="x", labelsize=7)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_title(title, fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    # Room at the right of the longest bar for its label (the plot is about 4 inches wide).
    label = max((_label_inches(grouped(v), 6) for _, values in series for v in values), default=0)
    ax.set_xlim(0, max([v for _, values in series for v in values] + [1]) * (1 + (label + 0.1) / 3.5))
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    return fig


MARKERS = {"existing": ("s", "#7f8c8d"), "expand": ("D", "#2980b9"), "attached": ("^", "#27ae60"), "new": ("*", "#c0392b")}


def county_map(cp, t: dict, font) -> str:
    """Villages sized by children, sites by action, lines from each village to its site (inline SVG)."""
    pos = {v["code"]: (v["x"], v["y"]) for v in cp.villages}
    with matplotlib.rc_context(_rc(font)):
        fig = Figure(figsize=(7.0, 5.0))
        ax = fig.add_subplot()
        for a in cp.assignments:
            (x1, y1), (x2, y2) = pos[a["village"]], pos[a["site"]]
            if a["village"] != a["site"]:
                ax.plot([x1, x2], [y1, y2], color="#999", linewidth=0.6, zorder=1)
        ax.scatter([v["x"] for v in cp.villages], [v["y"] for v in cp.villages],
                   s=[max(v["children"], 5) / 4 for v in cp.villages], facecolors="none", edgecolors="#555",
                   linewidths=0.5, label=t["village_kg"], zorder=2)
        for action, (marker, colour) in MARKERS.items():
            pts = [pos[s["village"]] for s in cp.sites if s["action"] == action]
            if pts:
                ax.scatter([p[0] for p in pts], [p[1] for p in pts], marker=marker, color=colour, s=28,
                           label=t[action], zorder=3)
        ax.set_aspect("equal", adjustable="datalim")
        ax.tick_params(labelsize=6)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        fig.tight_layout()
        svg = _svg(fig, font)
    return svg[svg.index("<svg"):]
