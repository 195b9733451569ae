"""`datatrainer score distilled VERSION`: LLM teachers score a sample, a student on sentence embeddings (and,
by default, each record's perplexity) learns them and scores every record (no Ask-LLM pass per record)."""

from __future__ import annotations

from typing import Annotated

import numpy as np
import typer

from datatrainer.api.scoring import distilled
from datatrainer.cli.context import console, state
from datatrainer.scoring.ask_llm import ASK_LLM


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
    heuristics: Annotated[bool, typer.Option(help="The quality package's heuristic signals (Gopher quality and "
                                                  "repetition, C4 word share) are student features too.")] = True,
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
    perplexity; the student learns from the teachers' combined ranking on MiniLM embeddings (plus the NLL band
    and, with --heuristics, the heuristic quality signals) and is stored as `<teacher>-distilled`. Then
    `datatrainer sample VERSION --by ask-llm-distilled --budget 20%` keeps the best.
    """
    cli = state(ctx)
    with cli.open() as ws:
        try:
            scored = distilled(ws, ref, teacher=teacher, teacher_config=teacher_config, train_size=train_size,
                               seed=seed, model=model, prompts=prompt, teacher_score=teacher_score,
                               perplexity=perplexity, heuristics=heuristics, student=student, quantile=quantile,
                               rounds=rounds, alpha=alpha,
                               embedding_model=embedding_model, embedding_backend=embedding_backend,
                               progress=cli.progress)
        except KeyboardInterrupt:
            console.print("interrupted: the finished teacher, perplexity and embedding shards are stored; run the "
                          "same command to continue", markup=False, highlight=False)
            raise typer.Exit(130) from None
        scores = ws.scores.scores_for(ws.version(scored.version), scored.scorer, scored.config)["score"].to_numpy()
    low, median, high = np.quantile(scores, [0.0, 0.5, 1.0]) if len(scores) else (0.0, 0.0, 0.0)
    console.print(f"[green]scored[/] {len(scores):,} records of {scored.version}: {scored.scorer} config "
                  f"{scored.config} (min {low:.3g}, median {median:.3g}, max {high:.3g})")
