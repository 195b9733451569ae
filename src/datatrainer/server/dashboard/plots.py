"""The one plot the reports do not draw already: lines on a free y axis (loss curves, perplexity over time).

Built like the quality report's figures (`report_plots`: object API, inline SVG, fixed hash salt); rates on a
0..1 axis use the report's own `trend_svg`, bars and histograms its `bars_svg` and `histogram_svg`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from datatrainer.quality.report_plots import new_figure, plot_style, svg_text


def lines_svg(series: Mapping[str, tuple[Sequence[float], Sequence[float]]], xlabel: str, ylabel: str) -> str:
    """One line per name, each with its own x values (train and eval losses are logged at different steps)."""
    figure = new_figure(width=6.0, height=2.6)
    with plot_style():
        axes = figure.subplots()
        for name, (x, y) in series.items():
            axes.plot(list(x), list(y), marker="o" if len(x) < 30 else None, markersize=3, label=name)
        axes.set_xlabel(xlabel)
        axes.set_ylabel(ylabel)
        if len(series) > 1:
            axes.legend(fontsize=7, frameon=False)
    return svg_text(figure)
