"""`datatrainer sample VERSION --by NAME --budget 25%` and `datatrainer coverage VERSION_A VERSION_B`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from datatrainer.cli.context import console, state

if TYPE_CHECKING:
    from datatrainer.store.versions import DatasetVersion
    from datatrainer.workspace import Workspace


def sample_command(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Input version, e.g. web@2.")],
    by: Annotated[str, typer.Option(help="Sampler: random, top-k, bottom-k, band, density, kcenter, semdedup, "
                                         "prototypes, d4, dsir; or a stored scorer (e.g. ask-llm): its top-k, or "
                                         "a --band of it.")],
    budget: Annotated[str, typer.Option(help="Records to keep: a count (1000), a fraction (0.25) or 25%.")],
    seed: Annotated[int, typer.Option(help="Seed of every random choice.")] = 0,
    name: Annotated[str | None, typer.Option("--name", "-n", help="Output dataset (default: the input's).")] = None,
    target: Annotated[str | None, typer.Option(help="dsir: the version the sample should resemble.")] = None,
    model: Annotated[str | None, typer.Option(help="Embedding model for embedding samplers (default: minilm).")]
    = None,
    scorer: Annotated[str | None, typer.Option(help="top-k / bottom-k / band: the stored scorer to rank by.")]
    = None,
    config: Annotated[str | None, typer.Option(help="The scorer's config hash or prefix (default: the most "
                                                    "complete).")] = None,
    band: Annotated[str | None, typer.Option(help="band: low, middle or high.")] = None,
    clusters: Annotated[int | None, typer.Option(help="semdedup / prototypes / d4: k-means clusters "
                                                      "(default: about sqrt(n)).")] = None,
    eps: Annotated[float | None, typer.Option(help="semdedup / d4: cosine similarity above 1 - eps is a "
                                                   "duplicate (default 0.05).")] = None,
    prototype_clusters: Annotated[int | None, typer.Option(help="d4: clusters of the prototypes step.")] = None,
    metric: Annotated[str | None, typer.Option(help="kcenter: cosine (default) or l2.")] = None,
    buckets: Annotated[int | None, typer.Option(help="dsir: hash buckets of the n-gram features "
                                                     "(default 10000).")] = None,
) -> None:
    """Keep a budgeted sample of a version, chosen by a sampler, as a new version.

    Why each other record went: `datatrainer datasets dropped NEW`.
    """
    cli = state(ctx)
    with cli.open() as ws:
        source = ws.version(ref)
        result = ws.sample(source, by, budget, seed=seed, name=name, engine=cli.engine(), target=target, model=model,
                           scorer=scorer, config=config, band=band, clusters=clusters, eps=eps,
                           prototype_clusters=prototype_clusters, metric=metric, buckets=buckets)
        warning = _quality_warning(ws, source, result.info.params)
    stats = result.info.stats
    sampler = result.info.params["sampler"]
    console.print(f"[green]created[/] [bold]{result.ref}[/]: kept {stats['kept']:,} of {stats['rows']:,} records "
                  f"by {sampler} (budget {stats['budget']:,})")
    if stats.get("short_of_budget"):
        console.print(f"{stats['short_of_budget']:,} short of the budget: only {stats['survivors']:,} records are "
                      "not near-duplicates", markup=False, highlight=False)
    if stats["dropped"]:
        console.print(f"see what was removed and why: datatrainer datasets dropped {result.ref}", markup=False,
                      highlight=False)
    if warning is not None:
        console.print(f"warning: {warning}", markup=False, highlight=False, soft_wrap=True)


def _quality_warning(ws: Workspace, version: DatasetVersion, used: dict[str, Any]) -> str | None:
    """The measured-quality warning for the stored score a sample ranked by, if any (`scoring.measured`)."""
    from datatrainer.scoring.measured import sampling_warning

    if "scorer" not in used or "score_config" not in used:
        return None
    return sampling_warning(ws.scores.resolve(version, used["scorer"], used["score_config"]))


def coverage_command(
    ctx: typer.Context,
    full: Annotated[str, typer.Argument(help="The full version, e.g. web@2.")],
    sample: Annotated[str, typer.Argument(help="A sample of it, e.g. web@3.")],
    out: Annotated[Path | None, typer.Option(help="HTML file (default: WORKSPACE/reports/coverage-A-N-B-M.html).")]
    = None,
    json_out: Annotated[Path | None, typer.Option(help="JSON twin (default: the HTML path with .json).")] = None,
    model: Annotated[str, typer.Option(help="Embedding model of the full version.")] = "minilm",
    clusters: Annotated[int, typer.Option(min=1, help="k-means clusters fitted on the full version.")] = 100,
    radius: Annotated[list[float] | None, typer.Option(help="Cosine distances at which to count records near "
                                                            "a kept one (repeatable; default 0.1 0.2 0.3).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of k-means and of the plotted subset.")] = 0,
) -> None:
    """How much of the full version's embedding space a sample keeps: clusters covered, distance to the nearest
    kept record, and a 2-D plot of kept and dropped records, as an HTML report and its JSON twin."""
    from datatrainer.quality.report_html import fmt_rate, fmt_score
    from datatrainer.sampling.coverage import DEFAULT_RADII
    from datatrainer.sampling.coverage_report import build_coverage_report, default_paths, write_coverage_report

    with state(ctx).open() as ws:
        full_version, sample_version = ws.version(full), ws.version(sample)
        report = build_coverage_report(ws, full_version, sample_version, model, clusters, seed,
                                       tuple(radius) if radius else DEFAULT_RADII)
        html_path, json_path = default_paths(ws, full_version, sample_version)
    html_path = out or html_path
    json_path = json_out or (html_path.with_suffix(".json") if out else json_path)
    write_coverage_report(report, html_path, json_path)
    summary = report.summary
    table = Table("measure", "value", title=f"{report.sample}: {summary.kept:,} of {summary.records:,} records of "
                                            f"{report.full}")
    table.add_row("clusters covered", f"{summary.clusters_covered:,} of {summary.clusters:,} "
                                      f"({fmt_rate(summary.cluster_coverage)})")
    table.add_row("mean distance to nearest kept", fmt_score(summary.distance.mean))
    table.add_row("p90 distance to nearest kept", fmt_score(summary.distance.p90))
    for value, share in zip(summary.radii, summary.within_radius, strict=True):
        table.add_row(f"within {value:g} of a kept record", fmt_rate(share))
    console.print(table)
    console.print(f"wrote {html_path}", markup=False, highlight=False)
    console.print(f"wrote {json_path}", markup=False, highlight=False)
