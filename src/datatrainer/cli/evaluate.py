"""`datatrainer eval MODEL --suite SUITE`: evaluate a model, store the metrics with it, write its HTML report."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from datatrainer.cli.context import console, state
from datatrainer.errors import DatatrainerError
from datatrainer.evaluation.runner import SUITES, EvalRun

Data = Annotated[str | None, typer.Option(help="Dataset version (name@n) or file (.jsonl, .json, .parquet) to "
                                               "evaluate on; not used by humaneval.")]


def eval_command(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="A model registered by `datatrainer train`, a model folder, a .gguf "
                                              "file, smollm2, or a Hugging Face id in the local cache. ner: a spaCy "
                                              "pipeline (spacy); classification: the embedding model (minilm).")],
    suite: Annotated[str, typer.Option(help=f"One of: {', '.join(SUITES)}.")],
    data: Data = None,
    text_field: Annotated[str, typer.Option(help="perplexity, ner: the text field.")] = "text",
    max_tokens: Annotated[int, typer.Option(min=1, help="perplexity: tokens scored per document.")] = 1024,
    split: Annotated[str, typer.Option(help="perplexity: auto (the held-out split on the version the model was "
                                            "trained on, all records elsewhere), all or held-out.")] = "auto",
    context_field: Annotated[str, typer.Option(help="multiple-choice: the context field.")] = "ctx",
    endings_field: Annotated[str, typer.Option(help="multiple-choice: the list of endings.")] = "endings",
    label_field: Annotated[str, typer.Option(help="multiple-choice: the gold ending's index.")] = "label",
    limit: Annotated[int | None, typer.Option(min=1, help="multiple-choice, humaneval: the first N only.")] = None,
    backend: Annotated[str, typer.Option(help="humaneval: auto (.gguf files in llama.cpp via xllamacpp, the rest in "
                                              "transformers), transformers or xllamacpp.")] = "auto",
    samples: Annotated[int, typer.Option(min=1, help="humaneval: completions per problem.")] = 1,
    temperature: Annotated[float, typer.Option(min=0.0, help="humaneval: 0 is greedy.")] = 0.0,
    k: Annotated[list[int] | None, typer.Option(help="humaneval: pass@k to report (repeat; default 1).")] = None,
    max_new_tokens: Annotated[int, typer.Option(min=1, help="humaneval: tokens generated per completion.")] = 512,
    timeout: Annotated[float, typer.Option(min=0.1, help="humaneval: seconds each test program may run.")] = 10.0,
    workers: Annotated[int | None, typer.Option(min=1, help="humaneval: test programs run at once.")] = None,
    spans_field: Annotated[str, typer.Option(help="ner: the gold spans field.")] = "spans",
    mapping: Annotated[str | None, typer.Option(help="ner: SPACY_LABEL=LABEL pairs, comma-separated.")] = None,
    labels_field: Annotated[str, typer.Option(help="classification: the labels field.")] = "labels",
    test_fraction: Annotated[float, typer.Option(help="classification: share of records tested.")] = 0.25,
    seed: Annotated[int, typer.Option(help="classification: the learner's seed.")] = 0,
    report: Annotated[bool, typer.Option("--report/--no-report", help="Write the HTML report.")] = True,
) -> None:
    """Evaluate MODEL with one suite; the metrics are stored with the model and shown in its HTML report."""
    if suite not in SUITES:
        raise DatatrainerError(f"unknown suite {suite!r}: use one of {', '.join(SUITES)}")
    if suite != "humaneval" and data is None:
        raise DatatrainerError(f"the {suite} suite needs --data (a dataset version or a file)")
    options: dict[str, Any]
    if suite == "perplexity":
        options = {"text_field": text_field, "max_tokens": max_tokens, "split": split}
    elif suite == "multiple-choice":
        options = {"context_field": context_field, "endings_field": endings_field, "label_field": label_field,
                   "limit": limit}
    elif suite == "humaneval":
        options = {"backend": backend, "limit": limit, "samples": samples, "temperature": temperature,
                   "ks": tuple(k or [1]), "max_tokens": max_new_tokens, "timeout": timeout, "workers": workers}
    elif suite == "ner":
        from datatrainer.annotation.preannotate.spacy_ner import parse_mapping

        options = {"text_field": text_field, "spans_field": spans_field,
                   "mapping": parse_mapping(mapping) if mapping else None}
    else:
        options = {"labels_field": labels_field, "test_fraction": test_fraction, "seed": seed}
    cli = state(ctx)
    with cli.open() as ws:
        run = ws.evaluate(model, suite, data, progress=cli.progress, report=False, **options)
        _print(run)
        if report:
            from datatrainer.evaluation.report import write_report

            console.print(f"report: {write_report(ws, run)}")


def _print(run: EvalRun) -> None:
    from datatrainer.evaluation.report import fmt_metric

    table = Table(title=f"{run.suite} · {run.model} · {run.dataset_ref or ''}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in run.metrics.items():
        table.add_row(name, fmt_metric(name, value))
    console.print(table)
