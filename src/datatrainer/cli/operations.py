"""Commands that run registered operations (`filter`) and list them."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from datatrainer.cli.context import console, state
from datatrainer.operations import get_operation, operation_names


def filter_command(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Input version, e.g. web@1.")],
    where: Annotated[str, typer.Option(help="SQL condition on the columns, e.g. \"length(text) > 200\".")],
    name: Annotated[str | None, typer.Option("--name", "-n", help="Output dataset (default: the input's).")] = None,
) -> None:
    """Keep the records matching a SQL condition, as a new version."""
    cli = state(ctx)
    with cli.open() as ws:
        source = ws.version(ref)
        result = ws.apply("filter", [source], {"where": where}, name=name, engine=cli.engine())
    console.print(f"[green]created[/] [bold]{result.ref}[/]: kept {result.num_rows:,} of {source.num_rows:,} records")


def list_command() -> None:
    """The registered operations and their parameters."""
    table = Table("operation", "inputs", "parameters")
    for op_name in operation_names():
        op = get_operation(op_name)
        params = ", ".join(op.params_model.model_fields)
        table.add_row(op_name, f"{op.min_inputs}..{op.max_inputs}", params)
    console.print(table)
