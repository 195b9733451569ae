"""The comparison report: validation-loss curves per sampler and budget, and the steps each needs to reach
the full-data final loss, as one self-contained HTML page (the quality report's CSS, table and SVG helpers),
its JSON twin, and the curves as a PNG for documents.

Spread over seeds is shown as the mean curve with a band from the lowest to the highest seed, and in the
table as the mean with the min..max range; a run that never reaches the target counts as not reached (the
mean is over the seeds that reached it, and the table says how many did).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel

from datatrainer.experiments.convergence import final_loss, steps_to_reach
from datatrainer.experiments.runs import FULL, RunResult
from datatrainer.quality.report import write_atomic
from datatrainer.quality.report_html import CSS, fmt_count, fmt_rate, html_table
from datatrainer.quality.report_plots import new_figure, plot_style, svg_text

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FULL_COLOR = "#222222"


class Curve(BaseModel):
    """The validation loss of one sampler and budget over seeds: mean, lowest and highest at each step."""

    sampler: str
    budget: int
    steps: list[int]
    mean: list[float]
    low: list[float]
    high: list[float]


class Row(BaseModel):
    """One sampler at one budget: its samples, final losses and steps to the full-data final loss, per seed."""

    sampler: str
    budget: int
    records: float  # mean over seeds
    composition: dict[str, float]  # share of the sample per kind, mean over seeds
    final_losses: list[float]
    steps_to_target: list[int | None]  # per seed; None: never reached
    share_of_full_steps: list[float | None]  # steps_to_target / the full-data run's own steps, per seed

    @property
    def reached(self) -> int:
        return sum(step is not None for step in self.steps_to_target)

    def mean_share(self) -> float | None:
        shares = [share for share in self.share_of_full_steps if share is not None]
        return float(np.mean(shares)) if shares else None


class SamplerReport(BaseModel):
    experiment: str
    pool: str
    validation: str
    setup: dict[str, float | int]
    seeds: list[int]
    samplers: list[str]
    budgets: list[int]
    targets: list[float]  # the full-data run's final validation loss, per seed
    rows: list[Row]
    curves: list[Curve]
    train_seconds: float
    train_cpu_seconds: float
    generated_at: datetime

    def best(self) -> Row | None:
        """The row (budget < 100) with the smallest mean share of the full-data steps among rows whose every
        seed reached the target (a row may have fewer seeds than the report while an experiment runs)."""
        complete = [row for row in self.rows if row.sampler != FULL and row.reached == len(row.steps_to_target)]
        return min(complete, key=lambda row: row.mean_share() or np.inf, default=None)

    def html(self) -> str:
        return render(self)


def build_report(experiment: str, pool: str, validation: str, setup: dict[str, float | int],
                 results: Sequence[RunResult]) -> SamplerReport:
    """Aggregate finished runs; seeds without a full-data run are left out (they have no target)."""
    full = {r.key.seed: r for r in results if r.key.sampler == FULL}
    seeds = sorted(full)
    targets = {seed: final_loss(full[seed].eval_losses) for seed in seeds}
    full_steps = {seed: steps_to_reach(full[seed].eval_steps, full[seed].eval_losses, targets[seed])
                  for seed in seeds}
    groups: dict[tuple[str, int], list[RunResult]] = {}
    for result in results:
        if result.key.seed in full:
            groups.setdefault((result.key.sampler, result.key.budget), []).append(result)
    rows, curves = [], []
    for (sampler, budget), runs in sorted(groups.items(), key=lambda item: (item[0][1], item[0][0] != FULL,
                                                                             item[0][0])):
        runs.sort(key=lambda r: r.key.seed)
        steps = [steps_to_reach(r.eval_steps, r.eval_losses, targets[r.key.seed]) for r in runs]
        shares = [None if s is None or not full_steps[r.key.seed] else s / full_steps[r.key.seed]  # type: ignore[operator]
                  for s, r in zip(steps, runs, strict=True)]
        kinds = sorted({kind for r in runs for kind in r.composition})
        composition = {kind: float(np.mean([r.composition.get(kind, 0) / max(r.records, 1) for r in runs]))
                       for kind in kinds}
        rows.append(Row(sampler=sampler, budget=budget, records=float(np.mean([r.records for r in runs])),
                        composition=composition, final_losses=[r.eval_losses[-1] for r in runs],
                        steps_to_target=steps, share_of_full_steps=shares))
        curves.append(_curve(sampler, budget, runs))
    return SamplerReport(experiment=experiment, pool=pool, validation=validation, setup=setup, seeds=seeds,
                         samplers=sorted({r.key.sampler for r in results if r.key.sampler != FULL}),
                         budgets=sorted({r.key.budget for r in results}), targets=[targets[s] for s in seeds],
                         rows=rows, curves=curves, train_seconds=sum(r.seconds for r in results),
                         train_cpu_seconds=sum(r.cpu_seconds for r in results),
                         generated_at=datetime.now(UTC))


def _curve(sampler: str, budget: int, runs: Sequence[RunResult]) -> Curve:
    """Mean and range over seeds at the steps every seed evaluated."""
    steps = sorted(set.intersection(*(set(r.eval_steps) for r in runs)))
    matrix = np.array([[dict(zip(r.eval_steps, r.eval_losses, strict=True))[s] for s in steps] for r in runs])
    return Curve(sampler=sampler, budget=budget, steps=steps, mean=matrix.mean(0).tolist(),
                 low=matrix.min(0).tolist(), high=matrix.max(0).tolist())


def curves_figure(report: SamplerReport) -> Figure:
    """One panel per budget below 100%: each sampler's mean curve with its seed range, and the full-data
    curve and final loss for reference."""
    budgets = [b for b in report.budgets if b < 100] or [100]
    figure = new_figure(4.2 * len(budgets), 3.4)
    axes_list = figure.subplots(1, len(budgets), sharey=True, squeeze=False)[0]
    import matplotlib

    colors = matplotlib.colormaps["tab10"]
    full = next((c for c in report.curves if c.sampler == FULL), None)
    losses = [v for c in report.curves for v in c.high[len(c.high) // 5:]] + [v for c in report.curves
                                                                                for v in c.low]
    for axes, budget in zip(axes_list, budgets, strict=True):
        with plot_style():
            for index, sampler in enumerate(report.samplers):
                curve = next((c for c in report.curves if c.sampler == sampler and c.budget == budget), None)
                if curve is None:
                    continue
                axes.plot(curve.steps, curve.mean, color=colors(index), label=sampler, linewidth=1.2)
                axes.fill_between(curve.steps, curve.low, curve.high, color=colors(index), alpha=0.15, linewidth=0)
            if full is not None:
                axes.plot(full.steps, full.mean, color=FULL_COLOR, linestyle="--", linewidth=1.2,
                          label="full data (100%)")
                axes.axhline(float(np.mean(report.targets)), color=FULL_COLOR, linestyle=":", linewidth=0.8)
            axes.set_title(f"budget {budget}%")
            axes.set_xlabel("training step")
            if losses:
                axes.set_ylim(min(losses) - 0.05, max(losses) + 0.05)
    axes_list[0].set_ylabel("validation loss (nats/token)")
    axes_list[-1].legend(loc="upper right", fontsize=7)
    return figure


def _steps_cell(row: Row) -> str:
    reached = [s for s in row.steps_to_target if s is not None]
    if not reached:
        return "not reached"
    text = f"{np.mean(reached):.0f} ({min(reached)}-{max(reached)})"
    return text if len(reached) == len(row.steps_to_target) else f"{text}, {len(reached)}/{len(row.steps_to_target)}"


def _share_cell(row: Row) -> str:
    shares = [s for s in row.share_of_full_steps if s is not None]
    return f"{fmt_rate(float(np.mean(shares)))} ({fmt_rate(min(shares))}-{fmt_rate(max(shares))})" if shares else "-"


def table_rows(report: SamplerReport) -> list[list[str]]:
    rows = []
    for row in report.rows:
        losses = row.final_losses
        junk = row.composition.get("junk")
        duplicates = sum(row.composition.get(k, 0.0) for k in ("near-duplicate", "exact-duplicate"))
        rows.append([escape("full data" if row.sampler == FULL else row.sampler), f"{row.budget}%",
                     str(len(losses)), fmt_count(round(row.records)), "-" if junk is None else fmt_rate(junk),
                     "-" if not row.composition else fmt_rate(duplicates),
                     f"{np.mean(losses):.3f} ({min(losses):.3f}-{max(losses):.3f})", _steps_cell(row),
                     _share_cell(row)])
    return rows


TABLE_HEAD = ["sampler", "budget", "seeds", "records", "junk kept", "duplicates kept", "final val. loss (range)",
              "steps to full-data loss (range)", "share of full-data steps"]


def render(report: SamplerReport) -> str:
    setup = report.setup
    best = report.best()
    verdict = ("no sampler below 100% reached the full-data final loss in every seed" if best is None else
               f"best: <b>{escape(best.sampler)}</b> at {best.budget}% reaches the full-data final loss in "
               f"{fmt_rate(best.mean_share() or 0.0)} of the full-data steps (mean over {len(best.steps_to_target)} "
               "seeds)")
    title = f"Sampler comparison on {escape(report.pool)}"
    targets = ", ".join(f"{t:.3f}" for t in report.targets)
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
            f"<style>{CSS}</style></head><body><h1>{title}</h1>"
            f"<p class='meta'>validation on {escape(report.validation)} · tiny GPT ({setup['n_layer']} layers, "
            f"{setup['n_embd']} wide, {setup['vocab_size']:,}-token BPE), {setup['steps']:,} steps of "
            f"{setup['batch_size']} x {setup['seq_len']} tokens, evaluated every {setup['eval_every']} · seeds "
            f"{', '.join(map(str, report.seeds))} · {report.train_seconds / 60:.1f} min of training "
            f"({report.train_cpu_seconds / 60:.1f} CPU min) · generated "
            f"{report.generated_at:%Y-%m-%d %H:%M} UTC</p><p>{verdict}.</p>"
            "<h2 id='curves'>Validation loss during training</h2><p>Mean over seeds; the band spans the lowest "
            "and highest seed. Dashed: the full-data run; dotted: its final loss (the target).</p>"
            + svg_text(curves_figure(report))
            + "<h2 id='convergence'>Steps to the full-data final loss</h2><p>The first evaluated step at which "
              "a run's validation loss is at most the final validation loss of the full-data run of the same "
              f"seed (targets: {targets}). Mean over seeds (range); “k/n” when only k seeds reached it. "
              "Junk and duplicates kept: share of the sample's records of those kinds in the pool.</p>"
            + html_table(TABLE_HEAD, table_rows(report), numeric=(2, 3, 4, 5, 6, 7, 8)) + "</body></html>")


def write_report(report: SamplerReport, html_path: Path, json_path: Path, png_path: Path) -> None:
    """The page, its JSON twin and the curves as PNG, each written atomically."""
    write_atomic(html_path, render(report))
    write_atomic(json_path, report.model_dump_json(indent=2))
    png_path.parent.mkdir(parents=True, exist_ok=True)
    temporary = png_path.with_name(f".{png_path.name}.tmp")
    with plot_style():
        curves_figure(report).savefig(temporary, format="png", dpi=130)
    temporary.replace(png_path)
