"""`datatrainer quality ...`: measure and filter data quality."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from datatrainer.cli.context import console, state
from datatrainer.quality.filters import RULES

app = typer.Typer(help="Measure and filter data quality.", no_args_is_help=True)


@app.command("filter")
def filter_command(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Input version, e.g. web@1.")],
    rules: Annotated[str, typer.Option(help="Comma-separated rules to apply.")] = ",".join(RULES),
    lang: Annotated[str, typer.Option(help="Expected language (ISO 639-1) for the lang rule.")] = "en",
    min_lang_score: Annotated[float, typer.Option(help="Least share of the text in the expected language.")] = 0.65,
    name: Annotated[str | None, typer.Option("--name", "-n", help="Output dataset (default: the input's).")] = None,
) -> None:
    """Drop records failing the Gopher quality / repetition, C4 or language rules, as a new version.

    The dropped ids and why are kept: `datatrainer datasets dropped VERSION`.
    """
    cli = state(ctx)
    params = {"rules": [rule.strip() for rule in rules.split(",") if rule.strip()], "lang": lang,
              "min_lang_score": min_lang_score}
    with cli.open() as ws:
        source = ws.version(ref)
        result = ws.apply("quality-filter", [source], params, name=name, engine=cli.engine())
    console.print(f"[green]created[/] [bold]{result.ref}[/]: kept {result.num_rows:,} of {source.num_rows:,} records")
    reasons = result.info.stats.get("dropped_by_reason", {})
    if reasons:
        table = Table("first failing check", "records")
        for reason, count in sorted(reasons.items(), key=lambda item: -item[1]):
            table.add_row(reason, f"{count:,}")
        console.print(table)
