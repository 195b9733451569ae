"""The coverage report: one self-contained HTML page (inline CSS and SVG, no external URL) and its JSON twin.

It has the quality report's look: the page CSS, number formats, table, SVG and atomic-write helpers are
the quality report's own (`datatrainer.quality.report*`), imported rather than copied. The JSON
twin is the `CoverageReport` model itself, so it holds every number the page shows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow.compute as pc
from pydantic import BaseModel

from datatrainer.errors import DatatrainerError
from datatrainer.quality.report import write_atomic
from datatrainer.quality.report_html import CSS, fmt_count, fmt_rate, fmt_score, html_table
from datatrainer.quality.report_plots import COLOR, new_figure, plot_style, svg_text
from datatrainer.sampling.base import DEFAULT_MODEL
from datatrainer.sampling.coverage import DEFAULT_RADII, CoverageSummary, Projection, measure_coverage
from datatrainer.store.schema import ID
from datatrainer.store.versions import DatasetVersion

if TYPE_CHECKING:
    from datatrainer.workspace import Workspace

DROPPED_COLOR = "#c3cad3"


class CoverageReport(BaseModel):
    generated_at: datetime
    full: str
    sample: str
    model: str
    seed: int
    summary: CoverageSummary

    def html(self) -> str:
        return render(self)


def scatter_svg(projection: Projection) -> str:
    """Dropped rows in grey under kept rows in colour; the points are rasterised inside the SVG (thousands of
    vector markers would make the page slow), the axes and legend stay text."""
    figure = new_figure(width=6.0, height=4.2)
    kept = np.array(projection.kept, bool)
    x, y = np.array(projection.x), np.array(projection.y)
    with plot_style():
        axes = figure.subplots()
        for rows, color, size, what in ((~kept, DROPPED_COLOR, 6, "dropped"), (kept, COLOR, 12, "kept")):
            axes.scatter(x[rows], y[rows], s=size, color=color, label=f"{what} ({fmt_count(int(rows.sum()))} shown)",
                         rasterized=True, linewidths=0)
        variance = projection.explained_variance
        axes.set_xlabel(f"PC 1 ({fmt_rate(variance[0])} of variance)")
        axes.set_ylabel(f"PC 2 ({fmt_rate(variance[1])} of variance)")
        axes.legend(loc="upper right", fontsize=8, markerscale=2)
    return svg_text(figure)


def _cards(report: CoverageReport) -> str:
    summary = report.summary
    cards = [("cluster-coverage", fmt_rate(summary.cluster_coverage),
              f"of {fmt_count(summary.clusters)} clusters keep a record"),
             ("mean-distance", fmt_score(summary.distance.mean), "mean distance to the nearest kept record")]
    cards += [(f"within-{index}", fmt_rate(share), f"of records within {radius:g} of a kept record")
              for index, (radius, share) in enumerate(zip(summary.radii, summary.within_radius, strict=True))]
    return '<div class="cards">' + "".join(
        f'<div class="card" id="{key}"><div class="value">{value}</div><div class="label">{label}</div></div>'
        for key, value, label in cards) + "</div>"


def render(report: CoverageReport) -> str:
    """The whole page."""
    summary = report.summary
    distance = summary.distance
    quantiles = html_table(["mean", "median", "p90", "p99", "max"],
                       [[fmt_score(v) for v in (distance.mean, distance.median, distance.p90, distance.p99,
                                                distance.max)]], numeric=range(5))
    radii = html_table(["radius", "records within it", "share"],
                   [[f"{radius:g}", fmt_count(round(share * summary.records)), fmt_rate(share)]
                    for radius, share in zip(summary.radii, summary.within_radius, strict=True)], numeric=(1, 2))
    clusters = sorted(summary.per_cluster, key=lambda c: (c.retention, -c.size, c.cluster))
    retention = html_table(["cluster", "records", "kept", "retention"],
                       [[str(c.cluster), fmt_count(c.size), fmt_count(c.kept), fmt_rate(c.retention)]
                        for c in clusters], numeric=(1, 2, 3))
    title = f"Coverage of {escape(report.sample)} in {escape(report.full)}"
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
            f"<style>{CSS}</style></head><body><h1>{title}</h1>"
            f"<p class='meta'>{fmt_count(summary.kept)} of {fmt_count(summary.records)} records kept "
            f"({fmt_rate(summary.kept / summary.records)}) · embeddings {escape(report.model)} · "
            f"{fmt_count(summary.clusters)} k-means clusters · seed {report.seed} · "
            f"generated {report.generated_at:%Y-%m-%d %H:%M} UTC</p>" + _cards(report)
            + "<h2 id='distance'>Distance to the nearest kept record</h2><p>Cosine distance (1 - cosine "
              f"similarity) from each record of {escape(report.full)} to the closest record kept in "
              f"{escape(report.sample)}; 0 for kept records.</p>" + quantiles + radii
            + "<h2 id='projection'>Kept and dropped records</h2><p>The embeddings projected on their first two "
              f"principal components ({fmt_count(len(summary.projection.x))} records shown).</p>"
            + scatter_svg(summary.projection)
            + f"<h2 id='clusters'>Retention per cluster</h2><p>{fmt_count(summary.clusters_covered)} of "
              f"{fmt_count(summary.clusters)} clusters of {escape(report.full)} (k-means) keep at least one record; "
              "least retained first.</p>" + retention + "</body></html>")


def write_coverage_report(report: CoverageReport, html_path: Path, json_path: Path) -> None:
    """Write the page and its JSON twin, each atomically (temp file + rename)."""
    write_atomic(html_path, report.html())
    write_atomic(json_path, report.model_dump_json(indent=2))



def build_coverage_report(ws: Workspace, full: DatasetVersion, sample: DatasetVersion, model: str = DEFAULT_MODEL,
                          clusters: int = 100, seed: int = 0,
                          radii: tuple[float, ...] = DEFAULT_RADII) -> CoverageReport:
    """Measure how much of `full`'s embedding space `sample` (a subset of its records) keeps."""
    full_ids = full.to_table(columns=[ID])[ID]
    sample_ids = sample.to_table(columns=[ID])[ID]
    foreign = sample_ids.filter(pc.invert(pc.is_in(sample_ids, value_set=full_ids.combine_chunks())))
    if len(foreign):
        raise DatatrainerError(f"{sample.ref} has {len(foreign):,} records not in {full.ref} (e.g. "
                               f"{foreign[0].as_py()!r}): coverage compares a sample with the version it came from")
    kept = np.flatnonzero(pc.is_in(full_ids, value_set=sample_ids.combine_chunks()).to_numpy(zero_copy_only=False))
    config = ws.embeddings.resolve(full, model)
    embeddings = ws.embeddings.embeddings_for(full, config.config_hash)[1]
    summary = measure_coverage(embeddings, kept, clusters, seed, radii)
    return CoverageReport(generated_at=datetime.now(UTC), full=full.ref, sample=sample.ref, model=model, seed=seed,
                          summary=summary)


def default_paths(ws: Workspace, full: DatasetVersion, sample: DatasetVersion) -> tuple[Path, Path]:
    """`<workspace>/reports/coverage-<A name>-<A number>-<B name>-<B number>.html` and `.json`."""
    stem = ws.root / "reports" / (f"coverage-{full.info.dataset}-{full.info.number}-"
                                  f"{sample.info.dataset}-{sample.info.number}")
    return stem.with_suffix(".html"), stem.with_suffix(".json")
