"""`datatrainer pii scan|redact`: find personal data in a version, and write a version without it."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from datatrainer.cli.context import console, state
from datatrainer.errors import DatatrainerError
from datatrainer.params import validate_params
from datatrainer.pii.config import PII_TYPES, PiiConfig

app = typer.Typer(help="Find personal data (PII) and redact it.", no_args_is_help=True)

Types = Annotated[str, typer.Option(help="Comma-separated kinds to find.")]
Fields = Annotated[str | None, typer.Option(help="Comma-separated text fields (default: every string column "
                                                 "except id).")]
NationalIds = Annotated[str, typer.Option(help="Built-in national id formats: us_ssn, uk_nino.")]
IdPattern = Annotated[list[str] | None, typer.Option("--id-pattern", help="Another national id format as "
                                                     "NAME=REGEX (repeatable).")]
Regions = Annotated[str, typer.Option(help="Countries whose national phone formats count (ISO codes).")]


def _settings(types: str, fields: str | None, national_ids: str, id_pattern: list[str] | None,
              regions: str) -> dict[str, Any]:
    patterns: dict[str, str] = {}
    for item in id_pattern or []:
        name, sep, pattern = item.partition("=")
        if not sep or not name.strip() or not pattern:
            raise DatatrainerError(f"--id-pattern {item!r}: write it as NAME=REGEX, e.g. nhs=\\d{{10}}")
        patterns[name.strip()] = pattern
    return {"types": _split(types), "fields": _split(fields) if fields else None,
            "national_ids": _split(national_ids), "id_patterns": patterns, "phone_regions": _split(regions)}


def _split(values: str) -> list[str]:
    return [v.strip() for v in values.split(",") if v.strip()]


@app.command("scan")
def scan_command(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Version to scan, e.g. web@1.")],
    types: Types = ",".join(PII_TYPES), fields: Fields = None, national_ids: NationalIds = "us_ssn,uk_nino",
    id_pattern: IdPattern = None, regions: Regions = "US,GB",
    worst: Annotated[int, typer.Option(min=0, help="Records with most findings to show.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole result as JSON.")] = False,
) -> None:
    """Count emails, phone numbers, cards, IBANs, IP addresses, national ids and names, per kind and field.

    Found values are never printed: the worst records are shown with every finding masked.
    """
    from datatrainer.pii.scan import scan_version

    cli = state(ctx)
    config = validate_params(PiiConfig, _settings(types, fields, national_ids, id_pattern, regions), "pii scan")
    with cli.open() as ws:
        summary = scan_version(ws.version(ref), config, cli.engine(), worst)
    if as_json:
        console.print_json(summary.model_dump_json())
        return
    share = f"{summary.records_with_pii / summary.records:.1%}" if summary.records else "n/a"
    console.print(f"[bold]{summary.version}[/]: {summary.records_with_pii:,} of {summary.records:,} records "
                  f"({share}) hold personal data")
    if not summary.findings:
        return
    table = Table("kind", "findings", "records", *summary.fields)
    for kind, count in summary.findings.items():
        table.add_row(kind, f"{count:,}", f"{summary.records_by_type[kind]:,}",
                      *(f"{summary.by_field[name].get(kind, 0):,}" for name in summary.fields))
    console.print(table)
    if summary.worst:
        records = Table("id", "findings", "kinds", "field", "snippet (masked)", title="records with most findings")
        for record in summary.worst:
            records.add_row(record.id, str(record.findings), ", ".join(f"{k} {n}" for k, n in record.types.items()),
                            record.field, record.snippet[:120])
        console.print(records, markup=False)


@app.command("redact")
def redact_command(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Input version, e.g. web@1.")],
    mode: Annotated[str, typer.Option(help="mask: [EMAIL]; hash: [EMAIL:keyed hash]; pseudonymise: a realistic "
                                           "surrogate, the same for the same value in this workspace; drop: "
                                           "remove the records holding any.")] = "mask",
    types: Types = ",".join(PII_TYPES), fields: Fields = None, national_ids: NationalIds = "us_ssn,uk_nino",
    id_pattern: IdPattern = None, regions: Regions = "US,GB",
    name: Annotated[str | None, typer.Option("--name", "-n", help="Output dataset (default: the input's).")] = None,
) -> None:
    """Write a new version with the personal data replaced (or its records dropped)."""
    cli = state(ctx)
    params = {**_settings(types, fields, national_ids, id_pattern, regions), "mode": mode}
    with cli.open() as ws:
        source = ws.version(ref)
        result = ws.apply("pii-redact", [source], params, name=name, engine=cli.engine())
    dropped = result.info.stats.get("dropped", 0)
    console.print(f"[green]created[/] [bold]{result.ref}[/] ({mode}): {result.num_rows:,} records"
                  + (f", dropped {dropped:,}" if dropped else ""))
    if dropped:
        console.print(f"see what was removed and why: datatrainer datasets dropped {result.ref}", markup=False,
                      highlight=False)
