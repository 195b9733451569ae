"""`datatrainer erase`: remove a data subject's records from every version, store, annotation and export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from datatrainer.cli.context import console, state
from datatrainer.errors import DatatrainerError


def _read_ids(path: Path) -> tuple[str, ...]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatatrainerError(f"cannot read ids from {path}: {getattr(exc, 'strerror', None) or exc}") from None
    ids = tuple(line.strip() for line in lines if line.strip())
    if not ids:
        raise DatatrainerError(f"{path} lists no ids (one id per line)")
    return ids


def erase_command(
    ctx: typer.Context,
    where: Annotated[str | None, typer.Option("--where", help="SQL condition over a record's columns, e.g. "
                                              "\"author_id = 'u123'\" (DuckDB dialect, no file access).")] = None,
    ids: Annotated[Path | None, typer.Option("--ids", help="File with one record id per line.")] = None,
    value: Annotated[str | None, typer.Option("--value", help="A value (e.g. an e-mail address): every record, "
                                              "annotation and audit payload containing it.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Only finish an interrupted erasure.")] = False,
) -> None:
    """Erase matching records from every version holding them (and versions derived from them), the score and
    embedding stores, annotation tasks, the audit log's payloads and recorded exports; writes a receipt."""
    from datatrainer.compliance.erasure import erase
    from datatrainer.compliance.select import Selector

    selector = None
    if not resume or any(part is not None for part in (where, ids, value)):
        selector = Selector(where=where, ids=_read_ids(ids) if ids is not None else None, value=value)
    cli = state(ctx)
    with cli.open() as ws:
        result = erase(ws, selector, cli.progress)
    for erasure_id in result.resumed:
        console.print(f"finished interrupted erasure {erasure_id}")
    if result.erasure_id is None:
        if selector is not None:
            console.print("no record matches: nothing was erased")
        elif not result.resumed:
            console.print("no interrupted erasure to finish")
        return
    versions = ", ".join(f"{ref} (-{removed})" for ref, removed in result.versions) or "none"
    console.print(f"erased {result.records:,} records from versions {versions}; {result.tasks:,} annotation tasks, "
                  f"{result.payloads:,} audit payloads, {result.shards:,} cache shards, {result.exports:,} exports "
                  f"rewritten", markup=False, highlight=False)
    console.print(f"receipt: {result.receipt}", markup=False, highlight=False)
