"""Plots for the quality report as inline SVG strings (matplotlib's object API, no pyplot state).

Inline SVG keeps the report one self-contained file that needs no network and no image files; text in
the plots stays text (`svg.fonttype: none`), and the SVG hash salt is fixed so identical data gives an
identical file.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from datatrainer.quality.metrics.stats import Histogram

if TYPE_CHECKING:  # matplotlib is imported on first use: it costs a command-line start half a second
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType

PLOT_STYLE: dict[RcKeyType, Any] = {"svg.fonttype": "none", "svg.hashsalt": "datatrainer", "font.size": 9,
                                 "axes.spines.top": False, "axes.spines.right": False}
COLOR = "#3b6ea5"


def plot_style() -> AbstractContextManager[None]:
    """The report's matplotlib settings, for the length of a `with` block."""
    import matplotlib

    return matplotlib.rc_context(PLOT_STYLE)


def svg_text(figure: Figure) -> str:
    buffer = io.StringIO()
    with plot_style():
        figure.savefig(buffer, format="svg", bbox_inches="tight",
                       metadata={"Creator": None, "Date": None, "Format": None, "Type": None})
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def new_figure(width: float = 5.0, height: float = 2.4) -> Figure:
    from matplotlib.figure import Figure

    with plot_style():
        return Figure(figsize=(width, height), layout="constrained")


def histogram_svg(hist: Histogram, xlabel: str, ylabel: str = "records") -> str:
    figure = new_figure()
    with plot_style():
        axes = figure.subplots()
        if hist.counts:
            widths = [b - a for a, b in zip(hist.edges[:-1], hist.edges[1:], strict=True)]
            axes.bar(hist.edges[:-1], hist.counts, width=widths, align="edge", color=COLOR)
        axes.set_xlabel(xlabel)
        axes.set_ylabel(ylabel)
    return svg_text(figure)


def bars_svg(counts: Mapping[str, float], xlabel: str, xmax: float | None = None) -> str:
    """Horizontal bars, first on top; `xmax` fixes the axis (rates are drawn on 0..1 whatever their values)."""
    names = list(counts)[::-1]
    figure = new_figure(height=max(1.2, 0.25 * len(names) + 0.6))
    with plot_style():
        axes = figure.subplots()
        axes.barh(names, [counts[n] for n in names], color=COLOR)
        if xmax is not None:
            axes.set_xlim(0, xmax)
        axes.set_xlabel(xlabel)
    return svg_text(figure)


def small_histograms_svg(histograms: Mapping[str, Histogram], xlabel: str) -> str:
    """One small histogram per signal, four to a row, log-scaled counts (most records are at 0)."""
    names = list(histograms)
    rows = max(1, (len(names) + 3) // 4)
    figure = new_figure(width=8.0, height=1.7 * rows)
    with plot_style():
        grid = figure.subplots(rows, 4, squeeze=False)
        for index, axes in enumerate(grid.flat):
            if index >= len(names):
                axes.set_visible(False)
                continue
            hist = histograms[names[index]]
            if hist.counts:
                widths = [b - a for a, b in zip(hist.edges[:-1], hist.edges[1:], strict=True)]
                axes.bar(hist.edges[:-1], hist.counts, width=widths, align="edge", color=COLOR, log=True)
            axes.set_title(names[index], fontsize=8)
            axes.set_xlabel(xlabel, fontsize=7)
    return svg_text(figure)


def trend_svg(labels: Sequence[str], series: Mapping[str, Sequence[float | None]]) -> str:
    """One line per headline metric over the versions (gaps where a version was not measured)."""
    figure = new_figure(width=6.0, height=2.6)
    with plot_style():
        axes = figure.subplots()
        positions = list(range(len(labels)))
        for name, values in series.items():
            axes.plot(positions, [float("nan") if v is None else v for v in values], marker="o", label=name)
        axes.set_xticks(positions, labels, rotation=30, ha="right")
        axes.set_ylim(-0.02, 1.02)
        axes.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    return svg_text(figure)
