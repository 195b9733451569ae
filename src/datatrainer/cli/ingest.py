"""`datatrainer ingest`."""

from __future__ import annotations

from typing import Annotated

import typer

from datatrainer.cli.context import console, state
from datatrainer.io.ingest import IngestOptions
from datatrainer.params import validate_params


def ingest_command(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(help="JSONL/CSV/Parquet/WARC file (compressed or not), folder or glob of "
                                             "shards, s3:// URL, folder of .txt/.md, or saved HF dataset.")],
    name: Annotated[str, typer.Option("--name", "-n", help="Dataset name; each ingest adds a new version.")],
    text_field: Annotated[str, typer.Option(help="Input field holding the text.")] = "text",
    id_field: Annotated[str | None, typer.Option(help="Input field holding a stable id "
                                                      "(default: 'id' if present, else a content hash).")] = None,
    source: Annotated[str | None, typer.Option(help="Provenance recorded in the `source` column.")] = None,
    license: Annotated[str | None, typer.Option(help="License recorded in the `license` column.")] = None,
    collected_at_field: Annotated[str | None, typer.Option(
        help="Input field with the collection time (ISO-8601, date, or epoch seconds).")] = None,
    on_error: Annotated[str, typer.Option(help="fail: stop at the first bad record; skip: skip and count.")] = "fail",
    format: Annotated[str, typer.Option("--format", help="auto|jsonl|csv|parquet|text|hf|warc")] = "auto",
    encoding: Annotated[str, typer.Option(help="Text encoding of the input.")] = "utf-8",
    split: Annotated[str | None, typer.Option(help="Split of a saved HF DatasetDict.")] = None,
) -> None:
    """Read a file or folder into a new immutable dataset version."""
    options = validate_params(IngestOptions, dict(
        text_field=text_field, id_field=id_field, source=source, license=license,
        collected_at_field=collected_at_field, on_error=on_error, format=format, encoding=encoding, split=split,
    ), "ingest")
    cli = state(ctx)
    with cli.open() as ws:
        version = ws.ingest(path, name, options, cli.engine())
    skipped = version.info.stats.get("skipped", 0)
    note = f", skipped {skipped} bad records" if skipped else ""
    console.print(f"[green]created[/] [bold]{version.ref}[/]: {version.num_rows:,} records{note}")
    for example in list(version.info.stats.get("skipped_examples", []))[:5]:
        console.print(f"  skipped {example}", style="yellow", markup=False, highlight=False)
