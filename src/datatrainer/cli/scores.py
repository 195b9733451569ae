"""`datatrainer score ...` computes per-record scores; `datatrainer scores ...` lists and exports them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import orjson
import typer
from rich.table import Table

from datatrainer.cli import score_lm
from datatrainer.cli.context import console, state
from datatrainer.cli.embed import BackendOption, Model, backend_option, embed_with_progress
from datatrainer.params import validate_params
from datatrainer.scoring.race import RaceParams

score_app = typer.Typer(help="Compute per-record scores (cached by content and configuration).",
                        no_args_is_help=True)
app = typer.Typer(help="List and export computed scores.", no_args_is_help=True)
score_app.command("ask-llm")(score_lm.ask_llm_command)
score_app.command("perplexity")(score_lm.perplexity_command)


@score_app.command("density")
def density_command(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Version to score, e.g. web@2.")],
    model: Model = "minilm",
    backend: BackendOption = "st",
    family: Annotated[str | None, typer.Option(help="pstable (L2) or srp (cosine) LSH.")] = None,
    rows: Annotated[int | None, typer.Option(help="Sketch rows R (more: less noise, linear cost).")] = None,
    buckets: Annotated[int | None, typer.Option(help="Counters per row B.")] = None,
    concat: Annotated[int | None, typer.Option(help="Hashes per row p (more: narrower kernel).")] = None,
    bandwidth: Annotated[float | None, typer.Option(help="p-stable bin width r (less: narrower kernel).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the hash functions.")] = None,
) -> None:
    """Kernel density of every record among the version's records (RACE sketch over sentence embeddings).

    Embeddings are computed first where missing. High scores: near-duplicates and tight clusters; low:
    isolated records. Export with `datatrainer scores export VERSION --scorer density --out FILE`.
    """
    from datatrainer.scoring.jobs import DENSITY, EmbedderRequest, complete_embeddings, score_density

    settings = {"family": family, "rows": rows, "buckets": buckets, "concat": concat, "bandwidth": bandwidth,
                "seed": seed}
    sketch = validate_params(RaceParams, {k: v for k, v in settings.items() if v is not None}, "density")
    cli = state(ctx)
    with cli.open() as ws:
        version = ws.version(ref)
        embedding = complete_embeddings(ws, version, model, backend_option(backend))
        if embedding is None:
            request = EmbedderRequest(model, backend_option(backend))
            embedder = request.load()
            embed_with_progress(ws, version, embedder, cli.progress, engine=cli.engine(), request=request)
            embedding = ws.embeddings.resolve(version, embedder)
        hash_ = score_density(ws, version, embedding, sketch, cli.engine())
        scores = ws.scores.scores_for(version, DENSITY, hash_)["score"].to_numpy()
    low, median, high = np.quantile(scores, [0.0, 0.5, 1.0]) if len(scores) else (0.0, 0.0, 0.0)
    console.print(f"[green]scored[/] {len(scores):,} records of {version.ref}: density config {hash_} "
                  f"(min {low:.3g}, median {median:.3g}, max {high:.3g})")


@app.command("show")
def show_command(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Version, e.g. web@2.")],
) -> None:
    """What has been computed for a version: every scorer config and embedding model, with coverage."""
    with state(ctx).open() as ws:
        version = ws.version(ref)
        scores, embeddings = ws.scores.computed(version), ws.embeddings.computed(version)
    table = Table("kind", "name", "config", "records", "parameters", title=f"{version.ref}, {version.num_rows:,} "
                  "records")
    for kind, items in (("score", scores), ("embedding", embeddings)):
        for item in items:
            table.add_row(kind, item.config.name, item.config.config_hash, f"{item.covered:,}/{item.records:,}",
                          _compact(item.config.params))
    if not scores and not embeddings:
        console.print(f"nothing computed for {version.ref} yet (try `datatrainer score density {version.ref}`)",
                      markup=False, highlight=False)
        return
    console.print(table)


@app.command("export")
def export_command(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Version, e.g. web@2.")],
    scorer: Annotated[str, typer.Option(help="Scorer name, e.g. density.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file: .jsonl or .parquet.")],
    config: Annotated[str | None, typer.Option("--config", help="Config hash or prefix (default: the config "
                                                                "covering most records).")] = None,
    decrypt: Annotated[bool, typer.Option("--decrypt", help="Encrypted workspace: write the file in the clear, "
                                          "deliberately (recorded in the audit log).")] = False,
) -> None:
    """Write one row per record (`id`, `score`, `config_hash`); records without a score get null."""
    from datatrainer.scoring.export import export_scores
    from datatrainer.security.keys_cleartext import allow_clear_export

    with state(ctx).open() as ws:
        version = ws.version(ref)
        table = ws.scores.scores_for(version, scorer, config)
        allow_clear_export(ws, f"{version.ref} ({scorer} scores)", out.resolve(), decrypt)
        rows = export_scores(table, out)
    missing = table["score"].null_count
    note = f"; {missing:,} without a score (null)" if missing else ""
    console.print(f"[green]exported[/] {rows:,} {scorer} scores of {version.ref} to [bold]{out}[/]{note}")


def _compact(params: dict[str, Any]) -> str:
    """Scalars first (what tells configs apart, e.g. an Ask-LLM score kind), then lists and nested configs."""
    shown = {key: value for key, value in params.items() if key not in ("aliases", "version", "prompts", "request")}
    return orjson.dumps(dict(sorted(shown.items(), key=lambda item: isinstance(item[1], dict | list)))).decode()
