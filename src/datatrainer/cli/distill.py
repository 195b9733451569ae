"""`datatrainer score distilled VERSION`: LLM teachers score a sample, a student on sentence embeddings (and,
by default, each record's perplexity) learns them and scores every record (no Ask-LLM pass per record)."""

from __future__ import annotations

from typing import Annotated

import numpy as np
import typer
from rich.console import Console

from datatrainer.cli.context import console, state
from datatrainer.cli.embed import _Counter, docs_progress, embed_with_progress
from datatrainer.models.embedders import load_embedder
from datatrainer.models.lm.base import LanguageModel
from datatrainer.params import validate_params
from datatrainer.scoring.ask_llm import ASK_LLM, AskLLMParams
from datatrainer.scoring.configs import StoredConfig
from datatrainer.scoring.distilled import DistillParams, TeacherSignal, distill, teacher_sample
from datatrainer.scoring.jobs import complete_embeddings
from datatrainer.scoring.lm_jobs import LMScoring, ModelRequest, PerplexityTask, plan_lm_scoring, run_lm_scoring
from datatrainer.scoring.perplexity import PERPLEXITY
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace

DEFAULT_TEACHER_PROMPTS = ("paper", "strict")  # with perplexity: the teacher measured best (docs)


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
    model: Annotated[str, typer.Option(help="Language model of the Ask-LLM teacher and of perplexity (smollm2 is "
                                            "shipped).")] = "smollm2",
    prompt: Annotated[list[str] | None, typer.Option(help="ask-llm teacher: a builtin prompt name or template file; "
                                                          "repeat for several teachers, combined by their lowest "
                                                          "rank (default: paper and strict).")] = None,
    teacher_score: Annotated[str, typer.Option(help="ask-llm teacher: the score kind it teaches with (pyes: "
                                                    "with SmolLM2 it teaches better than normalized, see "
                                                    "docs/commands/scoring.md).")] = "pyes",
    perplexity: Annotated[bool, typer.Option(help="Score every record's perplexity (one LLM pass each): it joins "
                                                  "the teachers, and its NLL band is a student feature.")] = True,
    student: Annotated[str, typer.Option(help="self-training (logistic regression on the teacher's confident "
                                              "extremes, then self-training rounds) or ridge (regression on the "
                                              "teacher's scores).")] = "self-training",
    quantile: Annotated[float, typer.Option(help="self-training: top and bottom share of the sample taken as "
                                                 "pseudo-labels.")] = 0.2,
    rounds: Annotated[int, typer.Option(help="self-training: rounds after the first fit.")] = 1,
    alpha: Annotated[float, typer.Option(help="Regularisation strength (ridge alpha; logistic C = 1/alpha).")] = 1.0,
    embedding_model: Annotated[str, typer.Option(help="Embedding model the student reads.")] = "minilm",
    embedding_backend: Annotated[str, typer.Option(help="st or onnx.")] = "onnx",
) -> None:
    """Score every record with a student distilled from LLM teachers, as FineWeb-Edu does.

    With --train-size N the Ask-LLM teachers (one per --prompt) score only the N sampled records still missing
    a score (the sample is kept as the version NAME-distill-train), and with --perplexity every record gets its
    perplexity; the student learns from the teachers' combined ranking on MiniLM embeddings (plus the NLL band)
    and is stored as `<teacher>-distilled`. Then `datatrainer sample VERSION --by ask-llm-distilled --budget
    20%` keeps the best.
    """
    params = validate_params(DistillParams, {"teacher": teacher, "teacher_config": teacher_config,
                                             "train_size": train_size, "seed": seed, "alpha": alpha,
                                             "student": student, "quantile": quantile, "rounds": rounds,
                                             "model": embedding_model, "backend": embedding_backend}, "distilled")
    asks = [validate_params(AskLLMParams, {"prompts": [name], "score": teacher_score}, "ask-llm")
            for name in prompt or DEFAULT_TEACHER_PROMPTS]
    cli = state(ctx)
    runner = _Runner(ModelRequest(model), cli.progress)
    with cli.open() as ws:
        version = ws.version(ref)
        if params.train_size is not None and teacher == ASK_LLM and teacher_config is None:
            hashes = [runner.teacher(ws, version, params, ask) for ask in asks]
            params = params.model_copy(update={"teacher_config": hashes[0], "extra_teachers": tuple(
                TeacherSignal(scorer=ASK_LLM, config=hash_) for hash_ in hashes[1:])})
        else:
            ws.scores.resolve(version, teacher, teacher_config)  # a missing teacher is an error before any LLM run
        if perplexity:
            hash_ = runner.run("perplexity (every record)", plan_lm_scoring(ws, version, PerplexityTask(),
                                                                            runner.request, runner.model))
            params = params.model_copy(update={"perplexity_config": hash_, "extra_teachers": (
                *params.extra_teachers, TeacherSignal(scorer=PERPLEXITY, config=hash_))})
        hash_ = distill(ws, version, params, _embeddings(ws, version, params, cli.progress))
        scores = ws.scores.scores_for(version, params.scorer, hash_)["score"].to_numpy()
    low, median, high = np.quantile(scores, [0.0, 0.5, 1.0]) if len(scores) else (0.0, 0.0, 0.0)
    console.print(f"[green]scored[/] {len(scores):,} records of {version.ref}: {params.scorer} config {hash_} "
                  f"(min {low:.3g}, median {median:.3g}, max {high:.3g})")


class _Runner:
    """Runs the LLM jobs of one command with progress bars, loading the model at most once."""

    def __init__(self, request: ModelRequest, progress: bool) -> None:
        self.request, self.progress = request, progress
        self.model: LanguageModel | None = None

    def teacher(self, ws: Workspace, version: DatasetVersion, params: DistillParams, ask: AskLLMParams) -> str:
        """Ask-LLM scores of the training sample (only the texts still missing one); returns the config hash of
        the kind `ask.score` names (all three are stored)."""
        with Console(stderr=True, quiet=not self.progress).status(f"loading {self.request.model} if scores are "
                                                                   "missing"):
            scoring = teacher_sample(ws, version, params, ask, self.request, self.model)
        self.run(f"teacher (ask-llm, {ask.prompts[0]})", scoring)
        return scoring.hash_of({"score": ask.score})

    def run(self, label: str, scoring: LMScoring) -> str:
        """Compute what the planned job is missing; returns its (default) config hash."""
        self.model = scoring.model or self.model
        counter = _Counter()
        try:
            with docs_progress(label, scoring.todo, self.progress) as bar:
                run_lm_scoring(scoring, counter.wrap(bar))
        except KeyboardInterrupt:
            console.print(f"interrupted: {counter.done:,} of {scoring.todo:,} {label} scores are stored; run the same "
                          "command to continue", markup=False, highlight=False)
            raise typer.Exit(130) from None
        return scoring.hashes[-1]


def _embeddings(ws: Workspace, version: DatasetVersion, params: DistillParams, progress: bool) -> StoredConfig:
    embedding = complete_embeddings(ws, version, params.model, params.backend)
    if embedding is None:
        embedder = load_embedder(params.model, params.backend)
        embed_with_progress(ws, version, embedder, progress)
        embedding = ws.embeddings.resolve(version, embedder)
    return embedding
