"""Which CLI commands run as jobs, and how a job's command is run again (`resume`).

A job records its command (`kind`, e.g. "score ask-llm") and the parameters it was given, with the dataset
versions it reads pinned to exact refs (`web` becomes `web@2`), so resuming re-runs the same command on the
same data; the score stores, embedding stores and training checkpoints make the re-run continue where the
last one stopped instead of starting over.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import Enum
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from datatrainer.errors import DatatrainerError

if TYPE_CHECKING:
    from datatrainer.jobs.types import JobInfo
    from datatrainer.workspace import Workspace


def _continue_training(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """A training run that got as far as recording itself resumes with --resume; one killed before has
    nothing to continue and starts afresh."""
    recorded = ws.root / "runs" / str(params["out"]) / "run.json"  # training.run's RUNS_DIR / RUN_FILE
    return {**params, "resume": recorded.is_file()}


@dataclass(frozen=True)
class LongCommand:
    """A command that runs as a job: `inputs` name its parameters holding dataset versions (pinned to exact refs
    and checked before a resume), `on_resume` adjusts the parameters of a re-run."""

    inputs: tuple[str, ...] = ("ref",)
    on_resume: Callable[[Workspace, dict[str, Any]], dict[str, Any]] | None = None


# The one list of long commands; the CLI wraps each of them in the job runner.
LONG_COMMANDS: dict[str, LongCommand] = {
    "embed": LongCommand(),
    "score ask-llm": LongCommand(),
    "score perplexity": LongCommand(),
    "score distilled": LongCommand(),
    "dedup": LongCommand(),
    "train": LongCommand(inputs=("ref", "eval_version"), on_resume=_continue_training),
    "experiment samplers": LongCommand(inputs=("ref", "valid", "target")),
}

_resuming: ContextVar[int | None] = ContextVar("datatrainer_resuming_job", default=None)


def resuming_job() -> int | None:
    """The id of the job being resumed by the command now running, if it is a resume."""
    return _resuming.get()


@contextmanager
def _resume(job_id: int) -> Iterator[None]:
    token = _resuming.set(job_id)
    try:
        yield
    finally:
        _resuming.reset(token)


def jsonable(value: Any) -> Any:
    """A command parameter as JSON: paths as strings, tuples as lists, enums as their values."""
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    return value


def pin_inputs(ws: Workspace, kind: str, params: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The parameters with every input version resolved to its exact ref, and those refs."""
    pinned = dict(params)
    for name in LONG_COMMANDS[kind].inputs:
        if pinned.get(name) is not None:
            pinned[name] = ws.version(str(pinned[name])).ref
    return pinned, [pinned[name] for name in LONG_COMMANDS[kind].inputs if pinned.get(name) is not None]


def command_arguments(command: Any, params: dict[str, Any]) -> list[str]:
    """The command-line arguments that give a click command these parameter values."""
    args: list[str] = []
    for param in command.params:
        value = params.get(param.name)
        if value is None:
            continue
        if param.param_type_name == "argument":
            args += [str(item) for item in value] if isinstance(value, list) else [str(value)]
        elif param.is_flag and isinstance(value, bool):
            if value or param.secondary_opts:
                args.append(param.opts[0] if value else param.secondary_opts[0])
        elif isinstance(value, list):
            args += [part for item in value for part in (param.opts[0], str(item))]
        else:
            args += [param.opts[0], str(value)]
    return args


def command_line(ws: Workspace, job: JobInfo, progress: bool = False) -> list[str]:
    """The arguments to `datatrainer` that resume `job` (its global options, its command, its parameters)."""
    import typer.main

    from datatrainer.cli.app import app

    if job.kind not in LONG_COMMANDS:
        raise DatatrainerError(f"job {job.id}: unknown kind {job.kind!r} (resumable: {', '.join(LONG_COMMANDS)})")
    command: Any = typer.main.get_command(app)
    for word in job.kind.split():
        command = command.commands[word]
    params = dict(job.params)
    hook = LONG_COMMANDS[job.kind].on_resume
    if hook is not None:
        params = hook(ws, params)
    options = job.options
    global_args = ["--workspace", str(ws.root), "--db-url", ws.catalog.url,
                   "--progress" if progress else "--no-progress", "--engine", str(options.get("engine", "local"))]
    if options.get("ray_address"):
        global_args += ["--ray-address", str(options["ray_address"])]
    if options.get("batch_rows"):
        global_args += ["--batch-rows", str(options["batch_rows"])]
    return [*global_args, *job.kind.split(), *command_arguments(command, params)]


def rerun(ws: Workspace, job: JobInfo, progress: bool) -> int:
    """Run the job's command again in this process, as the same job; returns its exit status (0 done,
    130 stopped). Errors propagate as the command raised them."""
    from datatrainer.cli.app import app

    args = command_line(ws, job, progress)
    with _resume(job.id):
        status = app(args=args, prog_name="datatrainer", standalone_mode=False)
    return status if isinstance(status, int) else 0
