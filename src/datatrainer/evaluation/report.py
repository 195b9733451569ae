"""A model's evaluation report: one self-contained HTML page (inline CSS and SVG, no network) in
`<workspace>/reports/eval-MODEL.html`, rewritten after every `datatrainer eval`.

It shows the latest run with its plot (per-document perplexities, accuracies, HumanEval outcomes, per-label
F1), every stored evaluation of the model in a table, and the headline metric of each suite over time. The
page is built with the quality report's helpers (CSS, tables, number formats, SVG figures).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from datatrainer.evaluation.runner import EvalRun
from datatrainer.quality.report_html import CSS, fmt_count, html_table
from datatrainer.quality.report_plots import COLOR, bars_svg, new_figure, plot_style, svg_text, trend_svg
from datatrainer.training.registry import EvaluationRecord
from datatrainer.workspace import Workspace

HEADLINE = {"perplexity": "perplexity", "multiple-choice": "acc_norm", "humaneval": "pass@1", "ner": "f1",
            "classification": "macro_f1"}
RATE_METRICS = re.compile(r"^(acc|acc_norm|pass@\d+|precision|recall|f1|accuracy|macro_f1)(/.*)?$")


def write_report(ws: Workspace, latest: EvalRun) -> Path:
    """Render and atomically write the model's report; returns its path."""
    folder = ws.root / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"eval-{re.sub(r'[^A-Za-z0-9._-]+', '_', latest.model).strip('._-') or 'model'}.html"
    temporary = path.with_suffix(f".tmp-{os.getpid()}")
    temporary.write_text(render(latest, ws.models.evaluations(latest.model)), encoding="utf-8")
    temporary.replace(path)
    return path


def render(latest: EvalRun, history: Sequence[EvaluationRecord]) -> str:
    sections = [_cards(latest.metrics), f"<h2>Latest run: {escape(latest.suite)}</h2>",
                f"<p class='meta'>data: {escape(latest.dataset_ref or 'n/a')}</p>", _latest_plot(latest),
                _history(history), "<h2>Configuration of the latest run</h2>",
                f"<pre>{escape(json.dumps(latest.config, indent=2, default=str))}</pre>"]
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Evaluation: "
            f"{escape(latest.model)}</title><style>{CSS}</style></head><body><h1>Evaluation: {escape(latest.model)}"
            f"</h1><p class='meta'>{fmt_count(len(history))} stored evaluation{'' if len(history) == 1 else 's'}"
            "</p>" + "".join(sections) + "</body></html>")


def fmt_metric(name: str, value: Any) -> str:
    """Rates as percentages, counts as integers, other numbers with four significant digits."""
    if value is None:
        return "n/a"
    if not isinstance(value, int | float):
        return escape(str(value))
    if RATE_METRICS.match(name):
        return f"{100 * value:.2f}%"
    if float(value).is_integer() and abs(value) < 1e15:
        return fmt_count(int(value))
    return f"{value:.4g}"


def _cards(metrics: Mapping[str, Any]) -> str:
    cards = "".join(f"<div class='card'><div class='value'>{fmt_metric(name, value)}</div>"
                    f"<div class='label'>{escape(name)}</div></div>"
                    for name, value in metrics.items() if "/" not in name)
    return f"<div class='cards'>{cards}</div>"


def _latest_plot(run: EvalRun) -> str:
    details, metrics = run.details, run.metrics
    if run.suite == "perplexity" and details.get("document_perplexities"):
        return _log_histogram(details["document_perplexities"], "document perplexity (log scale)")
    if run.suite == "multiple-choice":
        questions = details.get("loglikelihoods") or [[0.0]]
        chance = sum(1 / len(lls) for lls in questions) / len(questions)  # expected accuracy of guessing
        return bars_svg({"acc": metrics["acc"], "acc_norm": metrics["acc_norm"], "chance": chance}, "accuracy", xmax=1)
    if run.suite == "humaneval":
        reasons = Counter(_reason_kind(reason) for problem in details.get("problems", [])
                          for reason in problem["reasons"])
        return bars_svg(dict(reasons.most_common()), "completions") + _humaneval_table(details.get("problems", []))
    per_label = {name.split("/", 1)[1]: value for name, value in metrics.items()
                 if name.startswith("f1/") and value is not None}
    plot = bars_svg(per_label, "F1 per label", xmax=1) if per_label else ""
    if run.suite == "ner" and details.get("per_label"):
        rows = [[escape(label), fmt_metric("precision", c["precision"]), fmt_metric("recall", c["recall"]),
                 fmt_metric("f1", c["f1"]), fmt_count(int(c["gold"])), fmt_count(int(c["predicted"]))]
                for label, c in details["per_label"].items()]
        plot += html_table(["label", "precision", "recall", "F1", "gold spans", "predicted"], rows,
                           numeric=[1, 2, 3, 4, 5])
    return plot


def _history(history: Sequence[EvaluationRecord]) -> str:
    rows = [[f"{record.created_at:%Y-%m-%d %H:%M}", escape(record.suite), escape(record.dataset_ref or ""),
             escape(", ".join(f"{name} {fmt_metric(name, value)}" for name, value in record.metrics.items()
                              if "/" not in name)), f"<code>{escape(record.config_hash[:12])}</code>"]
            for record in history]
    table = html_table(["when (UTC)", "suite", "data", "metrics", "config"], rows)
    trends = []
    for suite, metric in HEADLINE.items():
        points = [(f"{r.created_at:%m-%d %H:%M}", r.metrics.get(metric)) for r in history if r.suite == suite]
        if len(points) >= 2 and metric != "perplexity":
            trends.append(f"<h3>{escape(suite)}: {escape(metric)} over time</h3>" +
                          trend_svg([p[0] for p in points], {metric: [p[1] for p in points]}))
    return "<h2>All evaluations of this model</h2>" + table + "".join(trends)


def _log_histogram(values: Sequence[float], xlabel: str) -> str:
    finite = [v for v in values if math.isfinite(v) and v > 0]
    figure = new_figure()
    with plot_style():
        axes = figure.subplots()
        if finite:
            low, high = math.log10(min(finite)), math.log10(max(finite))
            bins = [10 ** (low + (high - low + 1e-9) * i / 30) for i in range(31)]
            axes.hist(finite, bins=bins, color=COLOR)
            axes.set_xscale("log")
        axes.set_xlabel(xlabel)
        axes.set_ylabel("documents")
    return svg_text(figure)


def _reason_kind(reason: str) -> str:
    """'passed', 'timed out', a signal, or the exception's type."""
    return reason if reason in ("passed", "timed out") or reason.startswith("killed") else reason.split(":")[0]


def _humaneval_table(problems: Sequence[Mapping[str, Any]]) -> str:
    rows = [[escape(p["task_id"]), f"{sum(p['passed'])}/{len(p['passed'])}",
             escape("; ".join(sorted(set(p["reasons"])))[:160])] for p in problems]
    return "<h3>Per problem</h3>" + html_table(["task", "passed", "outcomes"], rows, numeric=[1])
