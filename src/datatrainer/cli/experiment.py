"""`datatrainer experiment data` and `datatrainer experiment samplers`: does curation train faster?"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from datatrainer.cli.context import console, state
from datatrainer.errors import DatatrainerError
from datatrainer.experiments.data import DEFAULT_NAME, TARGET_SUFFIX, VALID_SUFFIX, ensure_mixture
from datatrainer.experiments.mixture import MixtureParams
from datatrainer.experiments.report import build_report, write_report
from datatrainer.experiments.runs import FULL
from datatrainer.experiments.samplers import (
    DEFAULT_SAMPLERS,
    SCALES,
    ExperimentParams,
    SamplerExperiment,
    parse_budgets,
    parse_samplers,
)
from datatrainer.params import validate_params
from datatrainer.workspace import Workspace

app = typer.Typer(help="Experiments that train small models to measure what curation buys.", no_args_is_help=True)


@app.command("data")
def data_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="Dataset name of the pool (NAME-valid and NAME-target are the held-out "
                                           "versions).")] = DEFAULT_NAME,
    clean: Annotated[int, typer.Option(help="Real Wikipedia and news paragraphs in the pool.")] = 800,
    junk: Annotated[float, typer.Option(help="Share of the pool that is crawl junk (13 kinds).")] = 0.30,
    near_duplicates: Annotated[float, typer.Option(help="Share that are edited copies of clean paragraphs.")] = 0.15,
    exact_duplicates: Annotated[float, typer.Option(help="Share that are exact copies.")] = 0.05,
    validation: Annotated[int, typer.Option(help="Clean held-out paragraphs (other documents).")] = 100,
    target: Annotated[int, typer.Option(help="Clean paragraphs for DSIR's target (yet other documents).")] = 200,
    seed: Annotated[int, typer.Option(help="Seed of the mixture.")] = 0,
) -> None:
    """Build the default experiment data: a crawl-like pool of real text with junk and duplicates, and clean
    held-out text from documents not in the pool."""
    params = validate_params(MixtureParams, {"clean": clean, "junk": junk, "near_duplicates": near_duplicates,
                                             "exact_duplicates": exact_duplicates, "validation": validation,
                                             "target": target, "seed": seed}, "mixture")
    with state(ctx).open() as ws:
        versions = ensure_mixture(ws, params, name)
    console.print(f"[green]pool[/] {versions.pool.ref} ({versions.pool.num_rows:,} records), validation "
                  f"{versions.validation.ref} ({versions.validation.num_rows:,}), DSIR target {versions.target.ref} "
                  f"({versions.target.num_rows:,})")


@app.command("samplers")
def samplers_command(
    ctx: typer.Context,
    ref: Annotated[str | None, typer.Argument(help=f"The pool to sample (default: the latest {DEFAULT_NAME}, which "
                                                   "`experiment data` builds; built with its defaults if "
                                                   "missing).")] = None,
    valid: Annotated[str | None, typer.Option(help="Clean held-out version to evaluate on (default: "
                                                   f"POOL{VALID_SUFFIX}).")] = None,
    target: Annotated[str | None, typer.Option(help=f"DSIR's target version (default: POOL{TARGET_SUFFIX}).")] = None,
    samplers: Annotated[str, typer.Option(help="Comma-separated samplers (any `sample --by` sampler, ask-llm, "
                                               "perplexity).")] = ",".join(DEFAULT_SAMPLERS),
    budgets: Annotated[str, typer.Option(help="Comma-separated percentages of the pool; 100 (full data) is the "
                                              "reference and always runs.")] = "20,40,60,100",
    seeds: Annotated[int, typer.Option(min=1, help="Seeds 0..N-1 (model init, data order, random draws).")] = 3,
    scale: Annotated[str, typer.Option(help="cpu (~0.9M-parameter model, minutes on 2 cores) or gpu (~14M "
                                            "parameters, longer runs).")] = "cpu",
    steps: Annotated[int | None, typer.Option(help="Training steps of every run (default: the scale's).")] = None,
    eval_every: Annotated[int | None, typer.Option(help="Evaluate every K steps (default: the scale's).")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Sequences per step (default: the scale's).")] = None,
    seq_len: Annotated[int | None, typer.Option(help="Tokens per sequence (default: the scale's).")] = None,
    learning_rate: Annotated[float | None, typer.Option(help="Peak learning rate (default: the scale's).")] = None,
    layers: Annotated[int | None, typer.Option(help="Transformer layers (default: the scale's).")] = None,
    width: Annotated[int | None, typer.Option(help="Hidden size (default: the scale's).")] = None,
    vocab: Annotated[int | None, typer.Option(help="BPE vocabulary trained on the pool (default: the scale's).")]
    = None,
    ask_llm: Annotated[str, typer.Option(help="distilled (`score distilled`: Ask-LLM teachers on --train-size "
                                              "records, the recommended scorer) or direct (`score ask-llm` on "
                                              "every record).")] = "distilled",
    train_size: Annotated[int, typer.Option(help="distilled: records the Ask-LLM teachers score.")] = 300,
    threads: Annotated[int | None, typer.Option(min=1, help="torch CPU threads (default: torch's; 1 is much "
                                                           "faster when other jobs keep the cores busy).")] = None,
    report_only: Annotated[bool, typer.Option(help="Write the report from the runs finished so far; train "
                                                   "nothing (e.g. while other processes still train).")] = False,
    out: Annotated[Path | None, typer.Option(help="HTML report (JSON and PNG beside it; default: in the "
                                                  "experiment's folder).")] = None,
) -> None:
    """Train the same tiny GPT from scratch on each sampler's sample at each budget, for each seed, and report
    validation-loss curves and the steps each needs to reach the full-data final loss.

    Scores, samples and finished runs are stored in the workspace: a rerun only trains what is missing, and
    an interrupted experiment continues where it stopped.
    """
    import torch

    from datatrainer.training.run import TrainingInterrupted  # torch: only when an experiment runs

    if threads is not None:
        torch.set_num_threads(threads)

    if scale not in SCALES:
        raise DatatrainerError(f"--scale: unknown scale {scale!r}; use {' or '.join(SCALES)}")
    overrides = {"steps": steps, "eval_every": eval_every, "batch_size": batch_size, "seq_len": seq_len,
                 "learning_rate": learning_rate, "n_layer": layers, "n_embd": width, "vocab_size": vocab}
    setup = validate_params(type(SCALES[scale]), {**SCALES[scale].model_dump(),
                                                  **{k: v for k, v in overrides.items() if v is not None}},
                            "experiment")
    names, percentages = parse_samplers(samplers), parse_budgets(budgets)
    cli = state(ctx)
    with cli.open() as ws:
        pool, valid, target = _versions(ws, ref, valid, target)
        params = validate_params(ExperimentParams, {"samplers": names, "budgets": percentages, "seeds": seeds,
                                                    "setup": setup.model_dump(), "validation": valid,
                                                    "target": target, "ask_llm": ask_llm,
                                                    "train_size": train_size}, "experiment")
        experiment = SamplerExperiment(ws, ws.version(pool), params, cli.progress,
                                       say=lambda line: console.print(line, markup=False, highlight=False))
        try:
            results = experiment.results() if report_only else experiment.run()
        except (KeyboardInterrupt, TrainingInterrupted):
            done = len(experiment.results())
            console.print(f"interrupted: {done} of {len(experiment.keys())} runs are stored in "
                          f"{experiment.runs.folder}; run the same command to continue", markup=False,
                          highlight=False)
            raise typer.Exit(130) from None
        if not any(result.key.sampler == FULL for result in results):
            raise DatatrainerError(f"no full-data run of {experiment.folder.name} has finished yet: nothing to "
                                   "compare against")
        report = build_report(experiment.folder.name, pool, valid, setup.model_dump(), results)
        html = out or experiment.folder / "report.html"
        write_report(report, html, html.with_suffix(".json"), html.with_suffix(".png"))
    best = report.best()
    verdict = "no sampler reached the full-data final loss in every seed" if best is None else (
        f"best: {best.sampler} at {best.budget}% reaches the full-data final loss in "
        f"{(best.mean_share() or 0) * 100:.0f}% of the full-data steps")
    console.print(f"[green]report[/] {html} ({len(results)} runs); {verdict}")


def _versions(ws: Workspace, ref: str | None, valid: str | None,
              target: str | None) -> tuple[str, str, str | None]:
    """Pool, validation and DSIR target refs: given, else the default mixture's, else POOL-valid/-target."""
    if ref is None:  # the mixture `experiment data` made last, else the default one
        names = ws.datasets.names()
        ref = ws.datasets.versions(DEFAULT_NAME)[-1].ref if DEFAULT_NAME in names else \
            ensure_mixture(ws, MixtureParams()).pool.ref
    dataset = ws.version(ref).info.dataset
    names = ws.datasets.names()
    if valid is None:
        if dataset + VALID_SUFFIX not in names:
            raise DatatrainerError(f"--valid: no clean held-out version given and no {dataset}{VALID_SUFFIX} "
                                   "dataset exists; evaluate on text that is not in the pool")
        valid = ws.datasets.versions(dataset + VALID_SUFFIX)[-1].ref
    if target is None and dataset + TARGET_SUFFIX in names:  # also without dsir: the experiment's folder is named
        # by its versions, so a run of other samplers continues the same experiment
        target = ws.datasets.versions(dataset + TARGET_SUFFIX)[-1].ref
    return ref, valid, target
