"""Commands that run registered operations (`apply` runs any of them, `filter` one) and list them."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from datatrainer.cli.context import console, state
from datatrainer.errors import DatatrainerError
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
        result = ws.filter(source, where, name=name, engine=cli.engine())
    console.print(f"[green]created[/] [bold]{result.ref}[/]: kept {result.num_rows:,} of {source.num_rows:,} records")


def _parse_params(pairs: list[str], as_json: str | None) -> dict[str, Any]:
    """`--params '{...}'` then each `--param key=value` (the value read as JSON when it is JSON, else as text;
    dashes in keys become underscores, as in the operations' own commands)."""
    params: dict[str, Any] = {}
    if as_json is not None:
        try:
            loaded = json.loads(as_json)
        except json.JSONDecodeError as exc:
            raise DatatrainerError(f"--params is not valid JSON: {exc.msg} (column {exc.colno})") from None
        if not isinstance(loaded, dict):
            raise DatatrainerError("--params must be a JSON object, e.g. '{\"where\": \"n > 1\"}'")
        params.update(loaded)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise DatatrainerError(f"--param {pair!r} is not KEY=VALUE")
        try:
            params[key.replace("-", "_")] = json.loads(value)
        except json.JSONDecodeError:
            params[key.replace("-", "_")] = value
    return params


def apply_command(
    ctx: typer.Context,
    operation: Annotated[str, typer.Argument(help="A registered operation (`datatrainer operations` lists them).")],
    inputs: Annotated[list[str] | None, typer.Argument(help="Input versions, e.g. web@1.")] = None,
    param: Annotated[list[str] | None, typer.Option(
        "--param", "-p", help="A parameter as KEY=VALUE (VALUE read as JSON if it is JSON); repeatable.")] = None,
    params: Annotated[str | None, typer.Option("--params", help="Parameters as a JSON object.")] = None,
    name: Annotated[str | None, typer.Option("--name", "-n", help="Output dataset (default: the input's).")] = None,
) -> None:
    """Run any registered operation (built-in or plugin) on input versions, as a new version."""
    cli = state(ctx)
    values = _parse_params(param or [], params)
    get_operation(operation)  # an unknown name is the error to report, before any input is looked up
    with cli.open() as ws:
        result = ws.apply(operation, list(inputs or []), values, name=name, engine=cli.engine())
    console.print(f"[green]created[/] [bold]{result.ref}[/]: {result.num_rows:,} records")


def list_command() -> None:
    """The registered operations and their parameters."""
    table = Table("operation", "inputs", "parameters")
    for op_name in operation_names():
        try:
            op = get_operation(op_name)
        except DatatrainerError as exc:  # a broken plugin is listed as such; the others still work
            table.add_row(op_name, "-", f"[red]{escape(str(exc))}[/]")
            continue
        params = ", ".join(op.params_model.model_fields)
        table.add_row(op_name, f"{op.min_inputs}..{op.max_inputs}", params)
    console.print(table)
