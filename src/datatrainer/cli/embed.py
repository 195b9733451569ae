"""`datatrainer embed VERSION`: sentence embeddings of every record, cached by content."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from datatrainer.cli.context import console, state
from datatrainer.engine.base import Engine
from datatrainer.models.embedders import BATCH_SIZE, Backend, Embedder
from datatrainer.progress import Advance, observed
from datatrainer.scoring.jobs import SHARD_ROWS, EmbedderRequest, embed_version
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace

Model = Annotated[str, typer.Option(help="minilm (all-MiniLM-L6-v2, shipped), or a sentence-transformers model "
                                         "id in the local cache, or a model folder.")]
BackendOption = Annotated[str, typer.Option(help="st: sentence-transformers (fp32); onnx: int8 ONNX MiniLM "
                                                 "(same vectors to ~0.999 cosine).")]


class _RateColumn(ProgressColumn):
    """Documents per second: the number that says whether a run will take minutes or hours."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} docs/s" if speed else "- docs/s", style="progress.data.speed")


@contextmanager
def docs_progress(description: str, total: int, enabled: bool) -> Iterator[Advance]:
    if not enabled or total == 0:
        yield observed(description, total, lambda amount: None)  # a running job still records its progress
        return
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), _RateColumn(),
               TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=Console(stderr=True)) as progress:
        task = progress.add_task(description, total=total)
        yield observed(description, total, lambda amount: progress.advance(task, amount))


class _Counter:
    """Counts what was stored, to say so when the run is interrupted."""

    def __init__(self) -> None:
        self.done = 0

    def wrap(self, advance: Advance) -> Advance:
        def counting(amount: float) -> None:
            self.done += int(amount)
            advance(amount)

        return counting


def backend_option(value: str) -> Backend:
    if value not in ("st", "onnx"):
        raise typer.BadParameter(f"unknown backend {value!r}: use st or onnx", param_hint="--backend")
    return "st" if value == "st" else "onnx"


def embed_command(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Version to embed, e.g. web@2.")],
    model: Model = "minilm",
    backend: BackendOption = "st",
    batch_size: Annotated[int, typer.Option(min=1, help="Texts per model call (sorted by length).")] = BATCH_SIZE,
    shard_rows: Annotated[int, typer.Option(min=1, help="Texts per stored shard: the most an interruption "
                                                        "can lose.")] = SHARD_ROWS,
) -> None:
    """Embed every record's text; re-running computes only texts not embedded yet with this model.

    Finished batches are stored as they complete: Ctrl-C keeps them, and the same command continues.
    """
    cli = state(ctx)
    with cli.open() as ws:
        version = ws.version(ref)
        request = EmbedderRequest(model, backend_option(backend), batch_size)
        embedder = request.load()
        done = embed_with_progress(ws, version, embedder, cli.progress, shard_rows, cli.engine(), request)
    console.print(f"[green]embedded[/] {done:,} texts of {version.ref} with {embedder.model_id} ({backend}, "
                  f"config {embedder.config_hash()}); {version.num_rows:,} records in all")


def embed_with_progress(ws: Workspace, version: DatasetVersion, embedder: Embedder, progress: bool,
                        shard_rows: int = SHARD_ROWS, engine: Engine | None = None,
                        request: EmbedderRequest | None = None) -> int:
    """Embed what is missing with a docs/s bar; on Ctrl-C say what was kept and exit 130. With `engine` and
    `request`, the shards run on the engine's workers (see `embed_version`)."""
    todo = len(ws.embeddings.missing(version, embedder.name, embedder.config_hash()))
    counter = _Counter()
    try:
        with docs_progress("embedding", todo, progress) as bar:
            embed_version(ws, version, embedder, counter.wrap(bar), shard_rows, engine, request)
    except KeyboardInterrupt:
        console.print(f"interrupted: {counter.done:,} of {todo:,} new embeddings are stored; run the same "
                      "command to continue", markup=False, highlight=False)
        raise typer.Exit(130) from None
    return counter.done
