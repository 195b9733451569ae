"""What a version page shows: what the version is, its first records, what was dropped and why, its quality and
trend, its score distributions, its coverage when it is a sample, and what was built from it.

Everything is read from what the workspace already stores (the catalog, the version's side tables, the score
store, the report files); nothing here measures or scores, so a page costs a few reads, never a pass over the
data beyond the first records and the score columns.
"""

from __future__ import annotations

from html import escape
from typing import Any

import numpy as np
from pydantic import ValidationError

from datatrainer.errors import DatatrainerError
from datatrainer.quality.metrics.history import trend
from datatrainer.quality.metrics.result import METRICS_KIND, QualitySummary
from datatrainer.quality.metrics.stats import Histogram
from datatrainer.quality.report import default_paths as quality_paths
from datatrainer.quality.report_html import (
    distributions_section,
    fmt_count,
    fmt_rate,
    fmt_score,
    headline_cards,
    html_table,
    trend_section,
)
from datatrainer.quality.report_plots import histogram_svg
from datatrainer.sampling.coverage_report import CoverageReport, scatter_svg
from datatrainer.sampling.coverage_report import default_paths as coverage_paths
from datatrainer.server.dashboard.html import (
    clip,
    folded,
    json_block,
    link,
    model_link,
    muted,
    report_link,
    url,
    version_link,
)
from datatrainer.server.dashboard.registry import VERSION_PANELS, Context
from datatrainer.store.versions import DatasetVersion

HEAD_ROWS = 10
DROPPED_ROWS = 20
SCORE_BINS = 30
DROPPED = "dropped"
SAMPLE_OPERATION = "sample"


@VERSION_PANELS.register("overview", "Version", scope="datasets:read", order=10)
def overview(ctx: Context, version: DatasetVersion) -> str:
    info = version.info
    parents = ", ".join(version_link(parent) for parent in info.parents) or "none (a source)"
    schema = html_table(["column", "type"], [[escape(f.name), escape(str(f.type))] for f in version.schema])
    return (f"<p><b>{fmt_count(info.row_count)}</b> records, made by <b>{escape(info.operation)}</b> "
            f"({escape(info.code_version)}) on {info.created_at:%Y-%m-%d %H:%M} UTC from {parents}.</p>"
            f"<h3>Schema</h3>{schema}" + folded("Parameters", json_block(info.params))
            + folded("Stats", json_block(info.stats)))


@VERSION_PANELS.register("head", "First records", scope="datasets:read", order=20)
def head(ctx: Context, version: DatasetVersion) -> str:
    table = version.head(HEAD_ROWS)
    rows = [[escape(clip(value)) for value in row.values()] for row in table.to_pylist()]
    return (f"<p>The first {len(rows)} of {fmt_count(version.num_rows)} records.</p>"
            + html_table([escape(name) for name in table.column_names], rows))


@VERSION_PANELS.register("dropped", "Dropped records", scope="datasets:read", order=30)
def dropped(ctx: Context, version: DatasetVersion) -> str | None:
    """The side table a filtering operation stores: every removed record with the reason it was removed."""
    if DROPPED not in version.artifact_names():
        return None
    table = version.artifact(DROPPED)
    parts = [f"<p>{fmt_count(table.num_rows)} records of the parent were removed to make this version.</p>"]
    if "reason" in table.column_names:
        reasons = table.group_by("reason").aggregate([("reason", "count")]).sort_by([("reason_count", "descending")])
        parts.append(html_table(["reason", "records"], [[escape(str(row["reason"])), fmt_count(row["reason_count"])]
                                                        for row in reasons.to_pylist()], numeric=(1,)))
    shown = table.slice(0, DROPPED_ROWS)
    parts.append(f"<h3>First {shown.num_rows}</h3>" + html_table(
        [escape(name) for name in shown.column_names],
        [[escape(clip(value)) for value in row.values()] for row in shown.to_pylist()]))
    return "".join(parts)


def stored_quality(ctx: Context, version: DatasetVersion) -> QualitySummary | None:
    """The newest quality measurement stored for the version (any configuration), or None."""
    payload = ctx.ws.catalog.load_metrics(version.info, METRICS_KIND)
    if payload is None:
        return None
    try:
        return QualitySummary.model_validate(payload)
    except ValidationError:  # stored by a code version whose summary had another shape
        return None


@VERSION_PANELS.register("quality", "Quality", scope="datasets:read", order=40)
def quality(ctx: Context, version: DatasetVersion) -> str:
    summary = stored_quality(ctx, version)
    if summary is None:
        return muted(f"Not measured yet: `datatrainer quality report {version.ref}` measures it.")
    problems = html_table(["problem", "metric", "records"],
                          [[escape(p.title), escape(p.metric), fmt_count(p.records)] for p in summary.problems],
                          numeric=(2,))
    html_report = quality_paths(ctx.ws, version)[0]
    full = f"<p>{report_link(html_report, 'The full quality report')}</p>" if html_report.is_file() else ""
    return (f"<p class='meta'>Measured {summary.measured_at:%Y-%m-%d %H:%M} UTC (configuration "
            f"{escape(summary.config_hash)}).</p>" + headline_cards(summary) + full + "<h3>Problems</h3>" + problems
            + distributions_section(summary) + trend_section(trend(ctx.ws, summary, version.info)))


def score_histogram(values: np.ndarray[Any, Any]) -> Histogram:
    counts, edges = np.histogram(values, bins=SCORE_BINS) if len(values) else (np.array([]), np.array([0.0]))
    return Histogram(edges=edges.tolist(), counts=counts.tolist())


@VERSION_PANELS.register("scores", "Score distributions", scope="datasets:read", order=50)
def scores(ctx: Context, version: DatasetVersion) -> str | None:
    computed = ctx.ws.scores.computed(version)
    if not computed:
        return None
    parts = []
    for item in computed:
        config = item.config
        column = ctx.ws.scores.scores_for(version, config.name, config.config_hash)["score"].drop_null()
        values = column.to_numpy()
        spread = (f"min {fmt_score(float(values.min()))}, median {fmt_score(float(np.median(values)))}, "
                  f"max {fmt_score(float(values.max()))}") if len(values) else "no values"
        parts.append(f'<div class="scorer" data-scorer="{escape(config.name)}"><h3>{escape(config.name)} '
                     f'<span class="muted">config {escape(config.config_hash)}</span></h3>'
                     f"<p>{fmt_count(item.covered)} of {fmt_count(item.records)} records scored; {spread}.</p>"
                     + histogram_svg(score_histogram(values), f"{config.name} score") + "</div>")
    return "".join(parts)


@VERSION_PANELS.register("coverage", "Sample coverage", scope="datasets:read", order=60)
def coverage(ctx: Context, version: DatasetVersion) -> str | None:
    """For a sample: how much of its parent's embedding space it keeps (the stored coverage report)."""
    info = version.info
    if info.operation != SAMPLE_OPERATION or not info.parents:
        return None
    full = ctx.ws.version(info.parents[0])
    html_path, json_path = coverage_paths(ctx.ws, full, version)
    if not json_path.is_file():
        return muted(f"No coverage report yet: `datatrainer coverage {full.ref} {version.ref}` writes one.")
    try:
        report = CoverageReport.model_validate_json(json_path.read_bytes())
    except ValidationError as exc:
        raise DatatrainerError(f"{json_path}: not a coverage report ({exc.error_count()} problems)") from None
    summary = report.summary
    rows = [["records kept", f"{fmt_count(summary.kept)} of {fmt_count(summary.records)}"],
            ["clusters covered", f"{fmt_count(summary.clusters_covered)} of {fmt_count(summary.clusters)} "
                                 f"({fmt_rate(summary.cluster_coverage)})"],
            ["mean distance to the nearest kept record", fmt_score(summary.distance.mean)],
            ["p90 distance to the nearest kept record", fmt_score(summary.distance.p90)],
            *([f"records within {radius:g} of a kept record", fmt_rate(share)]
              for radius, share in zip(summary.radii, summary.within_radius, strict=True))]
    full_report = f"<p>{report_link(html_path, 'The full coverage report')}</p>" if html_path.is_file() \
        else ""
    return (f"<p>{version_link(version.ref)} sampled from {version_link(full.ref)} (embeddings "
            f"{escape(report.model)}, seed {report.seed}, {report.generated_at:%Y-%m-%d %H:%M} UTC).</p>"
            + html_table(["measure", "value"], rows, numeric=(1,)) + full_report + scatter_svg(summary.projection))


@VERSION_PANELS.register("models", "Models trained on it", scope="datasets:read", order=70)
def models(ctx: Context, version: DatasetVersion) -> str | None:
    trained = [model for model in ctx.ws.models.list() if model.dataset_ref == version.ref]
    if not trained:
        return None
    return html_table(["model", "base", "method", "created"],
                      [[model_link(m.name), escape(m.base_model), escape(m.method), f"{m.created_at:%Y-%m-%d %H:%M}"]
                       for m in trained])


@VERSION_PANELS.register("projects", "Annotation projects on it", scope="annotate", order=80)
def projects(ctx: Context, version: DatasetVersion) -> str | None:
    """Only the projects the caller is a member of (all of them for administrators), as the service decides."""
    found = [p for p in ctx.ws.annotation.list_projects(ctx.user) if p.source_ref == version.ref]
    if not found:
        return None
    return html_table(["project", "task type", "created by"],
                      [[link(url("projects", p.id), p.name), escape(p.task_type), escape(p.created_by)]
                       for p in found])
