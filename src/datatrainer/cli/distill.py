"""`datatrainer score distilled VERSION`: an LLM teacher scores a sample, a ridge student on sentence
embeddings learns it and scores every record (no LLM pass per record)."""

from __future__ import annotations

from typing import Annotated

import numpy as np
import typer
from rich.console import Console

from datatrainer.cli.context import console, state
from datatrainer.cli.embed import _Counter, docs_progress, embed_with_progress
from datatrainer.models.embedders import load_embedder
from datatrainer.params import validate_params
from datatrainer.scoring.ask_llm import ASK_LLM, AskLLMParams
from datatrainer.scoring.configs import StoredConfig
from datatrainer.scoring.distilled import DistillParams, distill, teacher_sample
from datatrainer.scoring.jobs import complete_embeddings
from datatrainer.scoring.lm_jobs import ModelRequest, run_lm_scoring
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace


def distilled_command(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Version to score, e.g. web@2.")],
    teacher: Annotated[str, typer.Option(help="Stored scorer to learn from. ask-llm is scored here on the "
                                              "training sample when --train-size is given.")] = ASK_LLM,
    teacher_config: Annotated[str | None, typer.Option(help="The teacher's config hash or prefix (default: "
                                                            "the most complete).")] = None,
    train_size: Annotated[int | None, typer.Option(help="Records the teacher scores (a random sample; default: "
                                                        "every record it has already scored).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the training sample.")] = 0,
    alpha: Annotated[float, typer.Option(help="Ridge regularisation strength.")] = 1.0,
    model: Annotated[str, typer.Option(help="ask-llm teacher: the language model (smollm2 is shipped).")] = "smollm2",
    prompt: Annotated[list[str] | None, typer.Option(help="ask-llm teacher: builtin prompt name or template file; "
                                                          "repeat for an ensemble.")] = None,
    teacher_score: Annotated[str, typer.Option(help="ask-llm teacher: the score kind the student learns (pyes: "
                                                    "with SmolLM2 it teaches better than normalized, see the "
                                                    "README).")] = "pyes",
    embedding_model: Annotated[str, typer.Option(help="Embedding model the student reads.")] = "minilm",
    embedding_backend: Annotated[str, typer.Option(help="st or onnx.")] = "onnx",
) -> None:
    """Score every record with a student distilled from an LLM teacher, as FineWeb-Edu does.

    With --train-size N the teacher (Ask-LLM) scores only the N sampled records still missing a score (the
    sample is kept as the version NAME-distill-train); the student is a ridge regression on the teacher's
    log-odds over MiniLM embeddings, stored as `<teacher>-distilled`. Then `datatrainer sample VERSION --by
    ask-llm-distilled --budget 20%` keeps the best.
    """
    params = validate_params(DistillParams, {"teacher": teacher, "teacher_config": teacher_config,
                                             "train_size": train_size, "seed": seed, "alpha": alpha,
                                             "model": embedding_model, "backend": embedding_backend}, "distilled")
    cli = state(ctx)
    with cli.open() as ws:
        version = ws.version(ref)
        if params.train_size is not None and teacher == ASK_LLM and teacher_config is None:
            settings = {"prompts": prompt, "score": teacher_score}
            ask = validate_params(AskLLMParams, {k: v for k, v in settings.items() if v is not None}, "ask-llm")
            params = params.model_copy(update={"teacher_config": _score_sample(ws, version, params, ask, model,
                                                                               cli.progress)})
        hash_ = distill(ws, version, params, _embeddings(ws, version, params, cli.progress))
        scores = ws.scores.scores_for(version, params.scorer, hash_)["score"].to_numpy()
    low, median, high = np.quantile(scores, [0.0, 0.5, 1.0]) if len(scores) else (0.0, 0.0, 0.0)
    console.print(f"[green]scored[/] {len(scores):,} records of {version.ref}: {params.scorer} config {hash_} "
                  f"(min {low:.3g}, median {median:.3g}, max {high:.3g})")


def _score_sample(ws: Workspace, version: DatasetVersion, params: DistillParams, ask: AskLLMParams, model: str,
                  progress: bool) -> str:
    """Ask-LLM scores for the training sample (only the texts still missing one); returns the config hash of
    the scores the student learns (the kind `ask.score` names; all three are stored)."""
    with Console(stderr=True, quiet=not progress).status(f"loading {model} if scores are missing"):
        scoring = teacher_sample(ws, version, params, ask, ModelRequest(model))
    counter = _Counter()
    try:
        with docs_progress("teacher (ask-llm)", scoring.todo, progress) as bar:
            run_lm_scoring(scoring, counter.wrap(bar))
    except KeyboardInterrupt:
        console.print(f"interrupted: {counter.done:,} of {scoring.todo:,} teacher scores are stored; run the same "
                      "command to continue", markup=False, highlight=False)
        raise typer.Exit(130) from None
    return scoring.hash_of({"score": ask.score})


def _embeddings(ws: Workspace, version: DatasetVersion, params: DistillParams, progress: bool) -> StoredConfig:
    embedding = complete_embeddings(ws, version, params.model, params.backend)
    if embedding is None:
        embedder = load_embedder(params.model, params.backend)
        embed_with_progress(ws, version, embedder, progress)
        embedding = ws.embeddings.resolve(version, embedder)
    return embedding
