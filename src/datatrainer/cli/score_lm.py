"""`datatrainer score ask-llm VERSION` and `datatrainer score perplexity VERSION`: language-model scores of
every record, cached by content and configuration, stored shard by shard (Ctrl-C keeps finished shards)."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console

from datatrainer.api.scoring import ask_llm_task, model_request
from datatrainer.cli.context import console, state
from datatrainer.cli.embed import _Counter, docs_progress
from datatrainer.params import validate_params
from datatrainer.scoring.lm_jobs import (
    SHARD_ROWS,
    STUDENT,
    LMTask,
    ModelRequest,
    PerplexityTask,
    plan_lm_scoring,
    run_lm_scoring,
)
from datatrainer.scoring.perplexity import PerplexityParams

Ref = Annotated[str, typer.Argument(help="Version to score, e.g. web@2.")]
Model = Annotated[str, typer.Option(help="smollm2 (SmolLM2-135M-Instruct, shipped), a .gguf file, a model folder, "
                                         "a Hugging Face id in the local cache, or the model name on the server.")]
BackendName = Annotated[str, typer.Option(help="transformers, llamacpp, or openai (an OpenAI-compatible server "
                                           "returning logprobs, e.g. vLLM: give --base-url).")]
BaseUrl = Annotated[str | None, typer.Option(help="openai backend: the server's URL, e.g. http://127.0.0.1:8000/v1.")]
BatchSize = Annotated[int | None, typer.Option(min=1, help="Most texts per forward pass (batches are cut by "
                                                           "length; default: the backend's).")]
Dtype = Annotated[str | None, typer.Option(help="transformers: auto (default: bfloat16 on CPUs with native bf16 "
                                                "units, same ranking quality and 2-3x faster; float32 elsewhere), "
                                                "float32 or bfloat16.")]
Quantize = Annotated[str | None, typer.Option(help="transformers: none (default) or int8 (dynamic int8 linear "
                                                   "layers).")]
ShardRows = Annotated[int, typer.Option(min=1, help="Texts per stored shard: the most an interruption can lose.")]
MaxTokens = Annotated[int, typer.Option(min=1, help="Document tokens kept (the rest is cut).")]


def ask_llm_command(
    ctx: typer.Context,
    ref: Ref,
    model: Model = "smollm2",
    backend: BackendName = "transformers",
    base_url: BaseUrl = None,
    prompt: Annotated[list[str] | None, typer.Option(help="Builtin prompt name (paper) or a template file with "
                                                          "{text}; repeat for an ensemble.")] = None,
    score: Annotated[str, typer.Option(help="Score to report: student (the default for sampling: the quality "
                                            "student, which measured best on held-out real text), normalized "
                                            "(P(yes)/(P(yes)+P(no))), pyes (the paper's) or logprob. All four are "
                                            "stored.")] = STUDENT,
    calibrate: Annotated[bool, typer.Option(help="Divide P(yes), P(no) by their values for content-free "
                                                 "documents (moves scores, not the ranking of one prompt).")] = False,
    max_doc_tokens: MaxTokens = 512,
    yes: Annotated[list[str] | None, typer.Option(help="Spellings of the yes answer (default: yes, ' yes', Yes, "
                                                       "' Yes'); single-token ones are summed.")] = None,
    no: Annotated[list[str] | None, typer.Option(help="Spellings of the no answer (default: no, ' no', No, ' No').")]
    = None,
    batch_size: BatchSize = None,
    dtype: Dtype = None,
    quantize: Quantize = None,
    shard_rows: ShardRows = SHARD_ROWS,
) -> None:
    """Ask-LLM quality: how readily the model answers "yes" to the paper's question about each record.

    Higher is better; `datatrainer sample VERSION --by ask-llm --budget 20%` keeps the top. One pass stores
    the student, normalized, pyes and logprob scores (four configs); sampling uses the student unless given
    --config.
    """
    task, shown = ask_llm_task(score, prompts=prompt, calibrate=calibrate, max_doc_tokens=max_doc_tokens, yes=yes,
                               no=no)
    hashes = _score(ctx, ref, task, model_request(model, backend, base_url, batch_size, dtype, quantize),
                    shard_rows, shown)
    others = ", ".join(f"{kind} {hash_}" for kind, hash_ in zip(task.kinds, hashes, strict=True)
                       if kind != score)
    console.print(f"also stored: {others} (pass --config HASH to sample or export them)", markup=False,
                  highlight=False)


def perplexity_command(
    ctx: typer.Context,
    ref: Ref,
    model: Model = "smollm2",
    backend: BackendName = "transformers",
    base_url: BaseUrl = None,
    max_tokens: MaxTokens = 512,
    batch_size: BatchSize = None,
    dtype: Dtype = None,
    quantize: Quantize = None,
    shard_rows: ShardRows = SHARD_ROWS,
) -> None:
    """Perplexity of each record under the model: exp(mean token negative log-likelihood); lower is more typical.

    `datatrainer sample VERSION --by perplexity --band low --budget 50%` keeps the least surprising half.
    """
    params = validate_params(PerplexityParams, {"max_tokens": max_tokens}, "perplexity")
    _score(ctx, ref, PerplexityTask(params), model_request(model, backend, base_url, batch_size, dtype, quantize),
           shard_rows, {})


def _score(ctx: typer.Context, ref: str, task: LMTask, request: ModelRequest, shard_rows: int,
           shown: dict[str, Any]) -> list[str]:
    """Score what is missing with a docs/s bar, print a summary of the `shown` config; returns the hashes."""
    cli = state(ctx)
    with cli.open() as ws:
        version = ws.version(ref)
        with Console(stderr=True, quiet=not cli.progress).status(
                f"checking stored scores (loading {request.model} if any are missing)"):
            scoring = plan_lm_scoring(ws, version, task, request)
        counter = _Counter()
        try:
            with docs_progress(task.scorer, scoring.todo, cli.progress) as bar:
                run_lm_scoring(scoring, counter.wrap(bar), shard_rows, cli.engine())
        except KeyboardInterrupt:
            console.print(f"interrupted: {counter.done:,} of {scoring.todo:,} new scores are stored; run the same "
                          "command to continue", markup=False, highlight=False)
            raise typer.Exit(130) from None
        hash_ = scoring.hash_of(shown)
        scores = ws.scores.scores_for(version, task.scorer, hash_)["score"].to_numpy(zero_copy_only=False)
    finite = scores[np.isfinite(scores)]
    low, median, high = np.quantile(finite, [0.0, 0.5, 1.0]) if len(finite) else (np.nan, np.nan, np.nan)
    kind = f" {shown['score']}" if "score" in shown else ""
    console.print(f"[green]scored[/] {len(scores):,} records of {version.ref} ({counter.done:,} texts computed now): "
                  f"{task.scorer}{kind} config {hash_} (min {low:.4g}, median {median:.4g}, max {high:.4g})")
    return scoring.hashes
