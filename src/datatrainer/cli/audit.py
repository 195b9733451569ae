"""`datatrainer audit ...`: verify the keyed chain, read it, export it signed for an auditor, check an export."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Annotated

import typer
from rich.table import Table

from datatrainer.cli.context import console, state
from datatrainer.errors import DatatrainerError


def _signing() -> ModuleType:
    """The export and signing module, imported on first use (`cryptography` is slow to import)."""
    from datatrainer.security import audit_export

    return audit_export


app = typer.Typer(help="The keyed, hash-chained audit log: verify, log, export, verify-export.", no_args_is_help=True)


@app.command("verify")
def audit_verify(ctx: typer.Context) -> None:
    """Walk the keyed chain; exit 1 naming the first entry that was altered, removed or reordered."""
    with state(ctx).open() as ws:
        report = ws.audit.verify()
    if not report.ok:
        raise DatatrainerError(f"audit log broken at entry {report.broken_seq}: {report.reason}")
    erased = f" ({report.erased_payloads:,} payloads erased)" if report.erased_payloads else ""
    console.print(f"audit log intact: {report.entries:,} entries{erased}")


@app.command("log")
def audit_log(
    ctx: typer.Context,
    after: Annotated[int, typer.Option("--after", help="Show entries after this seq.")] = 0,
    limit: Annotated[int, typer.Option("--limit", help="At most this many entries.")] = 50,
) -> None:
    """Audit entries in chain order."""
    with state(ctx).open() as ws:
        entries = ws.audit.entries(after_seq=after, limit=limit)
    table = Table("seq", "at", "actor", "action", "entity", "after")
    for e in entries:
        table.add_row(str(e.seq), f"{e.at:%Y-%m-%d %H:%M:%S}", e.actor, e.action, f"{e.entity} {e.entity_id}",
                      "(erased)" if e.erased else json.dumps(e.after)[:80])
    console.print(table)


@app.command("export")
def audit_export(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="File to write (JSON Lines); the signature goes to OUT.sig.")],
    decrypt: Annotated[bool, typer.Option("--decrypt", help="Encrypted workspace: write the payloads (which may "
                                          "quote records) in the clear, deliberately (recorded in the log).")]
    = False,
) -> None:
    """Write the whole log for an auditor, signed with the workspace's Ed25519 key."""
    from datatrainer.security.keys_cleartext import allow_clear_export

    with state(ctx).open() as ws:
        allow_clear_export(ws, "the audit log", out.resolve(), decrypt)
        summary = _signing().export_log(ws, out)
        ws.audit.record(action="audit.export", entity="audit", entity_id=summary.entries,
                        after={"path": str(summary.path)})
    chain = "chain intact" if summary.chain_ok else "CHAIN BROKEN (see `datatrainer audit verify`)"
    console.print(f"wrote {summary.entries:,} entries to {summary.path} ({chain}); signature {summary.signature}")


@app.command("public-key")
def audit_public_key(ctx: typer.Context) -> None:
    """Print the public key that checks this workspace's exports (give it to the auditor separately)."""
    signing = _signing()
    with state(ctx).open() as ws:
        typer.echo(signing.public_pem(signing.signing_key(ws.root).public_key()).decode(), nl=False)


@app.command("verify-export")
def audit_verify_export(
    path: Annotated[Path, typer.Argument(help="An export written by `audit export`.")],
    public_key: Annotated[Path, typer.Option("--public-key", help="PEM file printed by `audit public-key`.")],
    signature: Annotated[Path | None, typer.Option("--signature", help="Default: PATH.sig.")] = None,
) -> None:
    """Check an export's signature with the public key alone (no workspace needed)."""
    entries = _signing().verify_export(path, public_key, signature)
    console.print(f"signature valid: {entries:,} entries in {path}")
