"""`datatrainer models list|show|export`: what was trained on what, and folders other tools load."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from datatrainer.cli.context import console, state
from datatrainer.training.registry import EvaluationRecord, TrainedModel

app = typer.Typer(help="List, inspect and export trained models.", no_args_is_help=True)


@app.command("list")
def list_command(ctx: typer.Context) -> None:
    """Every registered model with its dataset version, base model and final losses."""
    with state(ctx).open() as ws:
        models = ws.models.list()
    table = Table("model", "dataset", "base", "method", "steps", "train loss", "eval loss", "created")
    for model in models:
        metrics = model.metrics
        table.add_row(model.name, model.dataset_ref, model.base_model, model.method, str(metrics.get("steps", "-")),
                      _number(metrics.get("final_train_loss")), _number(metrics.get("eval_loss")),
                      f"{model.created_at:%Y-%m-%d %H:%M}")
    console.print(table if models else "no models yet: train one with `datatrainer train VERSION --model tiny-gpt "
                                       "--out NAME`")


@app.command("show")
def show_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A registered model's name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """A model's lineage (dataset version, base model, config and its hash), metrics and evaluations."""
    with state(ctx).open() as ws:
        model = ws.models.get(name)
        evaluations = ws.models.evaluations(name)
    if as_json:
        console.print_json(json.dumps(describe(model, evaluations), default=str))
        return
    console.print(f"[bold]{model.name}[/]  {model.method} training of [cyan]{model.base_model}[/] on "
                  f"[cyan]{model.dataset_ref}[/] at {model.created_at:%Y-%m-%d %H:%M:%S} UTC")
    console.print(f"folder: {model.path}", markup=False, highlight=False)
    console.print(f"config {model.config_hash}:", json.dumps(model.config, sort_keys=True), markup=False,
                  highlight=False)
    console.print("metrics:", json.dumps(model.metrics, sort_keys=True), markup=False, highlight=False)
    if evaluations:
        table = Table("suite", "dataset", "metrics", "config", "when", title="evaluations")
        for record in evaluations:
            table.add_row(record.suite, record.dataset_ref or "-", json.dumps(record.metrics, sort_keys=True),
                          record.config_hash, f"{record.created_at:%Y-%m-%d %H:%M}")
        console.print(table)


@app.command("export")
def export_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A registered model's name.")],
    out: Annotated[Path, typer.Option(help="Folder to create.")],
    merge: Annotated[bool, typer.Option("--merge", help="LoRA: fold the adapter into the base weights (a plain "
                                                        "transformers folder) instead of the adapter folder.")] = False,
) -> None:
    """Write a folder `transformers.AutoModelForCausalLM.from_pretrained` (or peft, for an adapter) loads."""
    from datatrainer.training import export_model

    with state(ctx).open() as ws:
        folder = export_model(ws, name, out, merge)
    console.print(f"[green]exported[/] {name} to {folder}", highlight=False)


def describe(model: TrainedModel, evaluations: list[EvaluationRecord]) -> dict[str, Any]:
    return {"name": model.name, "path": str(model.path), "base_model": model.base_model, "method": model.method,
            "dataset": model.dataset_ref, "config": model.config, "config_hash": model.config_hash,
            "metrics": model.metrics, "history": model.history, "created_at": model.created_at.isoformat(),
            "evaluations": [{"suite": e.suite, "dataset": e.dataset_ref, "metrics": e.metrics,
                             "config": e.config, "config_hash": e.config_hash,
                             "created_at": e.created_at.isoformat()} for e in evaluations]}


def _number(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, int | float) else "-"
