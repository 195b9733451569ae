"""Training and evaluation in one call each: `train` (and register) a model, `evaluate` one with a suite."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from datatrainer.errors import DatatrainerError

if TYPE_CHECKING:
    from datatrainer.evaluation.runner import EvalRun
    from datatrainer.store.versions import DatasetVersion
    from datatrainer.training.run import TrainResult
    from datatrainer.workspace import Workspace


def train(ws: Workspace, version: str | DatasetVersion, model: str, out: str, *, resume: bool = False,
          progress: bool = False, **config: Any) -> TrainResult:
    """Train `model` (tiny-gpt from scratch, smollm2, a folder, a cached id) on a version and register it as
    `out` (`datatrainer train`); `config` holds `TrainConfig`'s fields (method, seq_len, max_steps, ...).
    Inside a job, its optimizer steps are the job's progress."""
    from datatrainer.jobs.training import job_callbacks
    from datatrainer.training import TrainConfig
    from datatrainer.training import train as run_training

    settings = TrainConfig(model=model, **config)
    return run_training(ws, version, settings, out, resume=resume, progress=progress, callbacks=job_callbacks())


def evaluate(ws: Workspace, model: str, suite: str, data: str | None = None, *, progress: bool = False,
             report: bool = True, **options: Any) -> EvalRun:
    """Evaluate a model with one suite and store the metrics with it (`datatrainer eval`); `options` are the
    suite's (text_field, max_tokens, split, limit, samples, ks, ...). With `report`, the model's HTML report
    is (re)written too."""
    from datatrainer.evaluation import runner

    if suite not in runner.SUITES:
        raise DatatrainerError(f"unknown suite {suite!r}: use one of {', '.join(runner.SUITES)}")
    if suite != "humaneval" and data is None:
        raise DatatrainerError(f"the {suite} suite needs data (a dataset version or a file)")
    data = str(data)
    if suite == "perplexity":
        run = runner.run_perplexity(ws, model, data, progress=progress, **options)
    elif suite == "multiple-choice":
        run = runner.run_multiple_choice(ws, model, data, progress=progress, **options)
    elif suite == "humaneval":
        run = runner.run_humaneval(ws, model, progress=progress, **options)
    elif suite == "ner":
        run = runner.run_ner(ws, model, data, progress=progress, **options)
    else:
        run = runner.run_classification(ws, model, data, progress=progress, **options)
    if report:
        from datatrainer.evaluation.report import write_report

        write_report(ws, run)
    return run
