"""`datatrainer retention apply`: erase records past their source's retention horizon."""

from __future__ import annotations

from typing import Annotated

import typer

from datatrainer.cli.context import console, state
from datatrainer.errors import DatatrainerError

app = typer.Typer(help="Retention policies per source: erase records past their horizon.", no_args_is_help=True)


def _overrides(pairs: list[str]) -> dict[str, int]:
    parsed: dict[str, int] = {}
    for pair in pairs:
        source, sep, days = pair.rpartition("=")
        if not sep or not source or not days.strip().isdigit():
            raise DatatrainerError(f"--policy {pair!r}: use SOURCE=DAYS, e.g. web=365 (\"*\" for every other source)")
        parsed[source] = int(days)
    return parsed


@app.command("apply")
def apply_command(
    ctx: typer.Context,
    policy: Annotated[list[str] | None, typer.Option("--policy", help="SOURCE=DAYS, repeatable; adds to or "
                                                     "overrides [retention] in datatrainer.toml.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count the expired records per version.")] = False,
) -> None:
    """Erase (from every version, store, annotation and export) the records whose `collected_at` is older than
    their `source`'s retention; records without `collected_at` never expire."""
    from datatrainer.compliance.retention import apply_retention, expired, workspace_policies

    with state(ctx).open() as ws:
        policies = workspace_policies(ws, _overrides(policy or []))
        if dry_run:
            counts = expired(ws, policies)
            for ref, count in counts.items():
                console.print(f"{ref}: {count:,} expired", markup=False, highlight=False)
            if not counts:
                console.print("no version has the source and collected_at columns the policies need")
            return
        result = apply_retention(ws, policies)
    if result.erasure_id is None:
        console.print("no record is past its retention: nothing was erased")
        return
    versions = ", ".join(f"{ref} (-{removed})" for ref, removed in result.versions)
    console.print(f"erased {result.records:,} expired records from {versions}; receipt: {result.receipt}",
                  markup=False, highlight=False)
