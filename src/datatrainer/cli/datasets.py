"""`datatrainer datasets list|show|diff|head|delete`, `export` and `gc`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from datatrainer.cli.context import console, state
from datatrainer.io.card import lineage

app = typer.Typer(help="List, inspect and compare dataset versions.", no_args_is_help=True)


@app.command("list")
def list_command(ctx: typer.Context) -> None:
    """Every dataset with its latest version."""
    with state(ctx).open() as ws:
        table = Table("dataset", "versions", "latest", "rows", "operation", "created")
        for name in ws.datasets.names():
            versions = ws.datasets.versions(name)
            latest = versions[-1].info
            table.add_row(name, str(len(versions)), f"@{latest.number}", f"{latest.row_count:,}",
                          latest.operation, f"{latest.created_at:%Y-%m-%d %H:%M}")
        console.print(table if table.row_count else "no datasets yet: start with `datatrainer ingest`")


@app.command("show")
def show_command(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="NAME (all versions) or NAME@N (one version).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """A dataset's versions, or one version's schema, row count, parameters and lineage."""
    with state(ctx).open() as ws:
        if "@" not in ref:
            versions = ws.datasets.versions(ref)
            if as_json:
                console.print_json(json.dumps([_describe(v.info) for v in versions], default=str))
                return
            table = Table("version", "rows", "operation", "parents", "created")
            for v in versions:
                table.add_row(v.ref, f"{v.num_rows:,}", v.info.operation, ", ".join(v.info.parents) or "-",
                              f"{v.info.created_at:%Y-%m-%d %H:%M:%S}")
            console.print(table)
            return
        version = ws.version(ref)
        chain = lineage(ws, version)
        if as_json:
            described = _describe(version.info) | {"lineage": [_describe(v.info) for v in chain]}
            console.print_json(json.dumps(described, default=str))
            return
        info = version.info
        console.print(f"[bold]{version.ref}[/]  {info.row_count:,} records  made by [cyan]{info.operation}[/] "
                      f"({info.code_version}) at {info.created_at:%Y-%m-%d %H:%M:%S} UTC")
        schema = Table("column", "type", title="schema")
        for field in version.schema:
            schema.add_row(field.name, str(field.type))
        console.print(schema)
        console.print("parameters:", json.dumps(info.params, sort_keys=True), markup=False, highlight=False)
        if info.stats:
            console.print("stats:", json.dumps(info.stats, sort_keys=True, default=str), markup=False,
                          highlight=False)
        history = Table("version", "rows", "operation", "parents", title="lineage (nearest first)")
        for step in chain:
            history.add_row(step.ref, f"{step.num_rows:,}", step.info.operation, ", ".join(step.info.parents) or "-")
        console.print(history)


def _describe(info: Any) -> dict[str, Any]:
    return {
        "version": info.ref, "rows": info.row_count, "operation": info.operation, "params": info.params,
        "parents": list(info.parents), "created_at": info.created_at.isoformat(),
        "code_version": info.code_version, "stats": info.stats,
        "schema": {field.name: str(field.type) for field in info.schema},
    }


@app.command("diff")
def diff_command(
    ctx: typer.Context,
    old: Annotated[str, typer.Argument(help="The earlier version, e.g. web@1.")],
    new: Annotated[str, typer.Argument(help="The later version, e.g. web@2.")],
    limit: Annotated[int, typer.Option(help="How many ids of each kind to list.")] = 20,
) -> None:
    """Which record ids were added and removed between two versions."""
    with state(ctx).open() as ws:
        diff = ws.datasets.diff(old, new, limit=limit)
    console.print(f"{diff.old} -> {diff.new}: [green]+{diff.added_count:,} added[/], "
                  f"[red]-{diff.removed_count:,} removed[/], {diff.kept_count:,} kept")
    for label, ids, total in (("added", diff.added, diff.added_count), ("removed", diff.removed, diff.removed_count)):
        if ids:
            more = f" (first {len(ids)} of {total:,})" if total > len(ids) else ""
            console.print(f"{label}{more}: " + ", ".join(ids), markup=False, highlight=False)


@app.command("head")
def head_command(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Version, e.g. web@1 or web (latest).")],
    n: Annotated[int, typer.Option("-n", help="Number of records.")] = 5,
    width: Annotated[int, typer.Option(help="Characters of text to show per record.")] = 120,
) -> None:
    """The first records of a version."""
    with state(ctx).open() as ws:
        version = ws.version(ref)
        rows = version.head(n).to_pylist()
    table = Table(*version.schema.names, title=f"{version.ref} (first {len(rows)} of {version.num_rows:,})")
    for row in rows:
        table.add_row(*[_cell(value, width) for value in row.values()])
    console.print(table)


@app.command("dropped")
def dropped_command(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="A version made by a filtering operation, e.g. web@2.")],
    n: Annotated[int, typer.Option("-n", help="Number of dropped records to list.")] = 20,
    artifact: Annotated[str, typer.Option(help="Which stored side table to show.")] = "dropped",
) -> None:
    """The records an operation removed to make this version, and why."""
    with state(ctx).open() as ws:
        version = ws.version(ref)
        table = version.artifact(artifact)
    reasons = table.group_by("reason").aggregate([("id", "count")]).sort_by([("id_count", "descending")]) \
        if "reason" in table.column_names else None
    if reasons is not None:
        summary = Table("reason", "records", title=f"{version.ref}: {table.num_rows:,} records {artifact}")
        for row in reasons.to_pylist():
            summary.add_row(str(row["reason"]), f"{row['id_count']:,}")
        console.print(summary)
    listing = Table(*table.column_names, title=f"first {min(n, table.num_rows)}")
    for row in table.slice(0, n).to_pylist():
        listing.add_row(*[_cell(value, 80) for value in row.values()])
    console.print(listing)


def _cell(value: Any, width: int) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def export_command(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Version to export, e.g. web@2.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    format: Annotated[str, typer.Option("--format", "-f", help="hf | parquet | jsonl")] = "hf",
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output folder.")] = False,
    decrypt: Annotated[bool, typer.Option("--decrypt", help="From an encrypted workspace: write the export in "
                                          "the clear, deliberately (recorded in the audit log).")] = False,
) -> None:
    """Export a version with a dataset card (README.md) carrying its lineage and row counts."""
    cli = state(ctx)
    with cli.open() as ws:
        version = ws.version(ref)
        path = ws.export(version, out, format, cli.engine(), overwrite=overwrite, decrypt=decrypt)
    console.print(f"[green]exported[/] {version.ref} ({version.num_rows:,} records, {format}) to [bold]{path}[/]")


def gc_command(
    ctx: typer.Context,
    min_age: Annotated[float, typer.Option(help="Only remove leftovers untouched for this many seconds.")] = 3600,
) -> None:
    """Remove leftovers of interrupted writes (temp folders, unpublished version folders)."""
    with state(ctx).open() as ws:
        removed = ws.collect_garbage(min_age)
    console.print(f"removed {len(removed)} leftover folder(s)")


@app.command("delete")
def delete_command(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="A dataset (every version) or one version, e.g. web or web@2.")],
    with_descendants: Annotated[bool, typer.Option("--with-descendants", help="Also delete the versions derived "
                                                   "from it, and the annotation projects and models built on "
                                                   "them.")] = False,
) -> None:
    """Delete a dataset or a version for good (refused while anything derived from it remains)."""
    from datatrainer.compliance.delete import delete_dataset

    with state(ctx).open() as ws:
        deleted = delete_dataset(ws, ref, with_descendants)
    also = [f"{len(deleted.projects)} annotation project(s)"] if deleted.projects else []
    also += [f"{len(deleted.models)} model(s)"] if deleted.models else []
    console.print(f"deleted {', '.join(deleted.versions)}" + (f" and {', '.join(also)}" if also else ""),
                  markup=False, highlight=False)
