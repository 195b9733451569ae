"""`datatrainer annotate suggest`: pre-annotate a project's pending tasks from spaCy, rules, an LLM or a
classifier fitted on what is already annotated, and order the queue by the model's uncertainty."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from datatrainer.annotation.preannotate.runner import run_suggester
from datatrainer.annotation.preannotate.spacy_ner import parse_mapping
from datatrainer.annotation.preannotate.specs import SuggestOptions, build_suggester
from datatrainer.annotation.types import local_admin
from datatrainer.cli.context import console, state


def suggest_command(
    ctx: typer.Context,
    project: Annotated[str, typer.Argument(help="Project name.")],
    source: Annotated[str, typer.Option(
        "--with", help="spacy[:MODEL] | gazetteer:FILE | llm[:MODEL] | classifier[:MODEL] (embedding model).")],
    mapping: Annotated[str, typer.Option("--map", help="spacy: SPACY_LABEL=LABEL,... e.g. PERSON=PER,GPE=LOC.")] = "",
    confidence: Annotated[Literal["transitions", "none"], typer.Option(
        help="spacy: per-entity probability of its transitions (slower), or none.")] = "transitions",
    case_sensitive: Annotated[bool, typer.Option("--case-sensitive", help="gazetteer: match case exactly.")] = False,
    pipeline: Annotated[str | None, typer.Option(
        help="gazetteer: spaCy pipeline to tokenize with (default blank:en; a trained one for POS/LEMMA patterns); "
             "llm ner: pipeline that finds proper nouns.")] = None,
    calibrate: Annotated[bool, typer.Option(
        "--calibrate/--no-calibrate", help="llm: contextual calibration against content-free inputs.")] = True,
    describe: Annotated[str, typer.Option(
        "--describe", help="llm ner: LABEL=answer word,... e.g. PER=person,ORG=company.")] = "",
    backend: Annotated[Literal["transformers", "llamacpp", "openai"], typer.Option(
        help="llm: language-model backend.")] = "transformers",
    measure: Annotated[Literal["entropy", "margin", "least_confidence"], typer.Option(
        help="Classification uncertainty measure.")] = "entropy",
    span_uncertainty: Annotated[Literal["min", "mean"], typer.Option(
        help="NER: a document is as uncertain as its least (min) or average (mean) confident span.")] = "min",
    priority: Annotated[bool, typer.Option(
        "--priority/--no-priority", help="Store each task's uncertainty as its priority.")] = True,
    batch_size: Annotated[int, typer.Option(min=1, help="Tasks per batch (and per stored transaction).")] = 64,
) -> None:
    """Store suggestions for every task still to annotate; a rerun resumes where it stopped."""
    cli = state(ctx)
    actor = local_admin()
    with cli.open() as ws:
        info = ws.annotation.get_project(actor, project)
        train = ([(doc.text, doc.labels) for doc in ws.annotation.annotated_docs(actor, project)]
                 if source.partition(":")[0] == "classifier" else [])
        options = SuggestOptions(mapping=parse_mapping(mapping), confidence=confidence, case_sensitive=case_sensitive,
                                 pipeline=pipeline, calibrate=calibrate, backend=backend,
                                 descriptions=parse_mapping(describe, "LABEL=answer word"))
        schema = info.label_schema
        suggester = build_suggester(source, info.task_type, schema.labels, schema.multi_label, options, train)
        report = run_suggester(ws, actor, info, suggester, measure, span_uncertainty, priority, batch_size,
                               cli.progress)
    console.print(f"{report.suggested:,} suggestions from [bold]{report.source}[/] stored for {info.name} "
                  f"({report.tasks:,} tasks to annotate, {report.already:,} already suggested by this source); "
                  f"{report.items:,} {'spans' if info.task_type == 'ner' else 'labels'} proposed, "
                  f"{report.uncertain:,} suggestions with uncertainty >= 0.5")
