"""`datatrainer jobs list|show|stop|resume`, and the wrapper that runs every long command as a job.

The long commands (`datatrainer.jobs.LONG_COMMANDS`) are wrapped where they are registered
(`wrap_long_commands`), so their modules stay as they are: each run is recorded in the catalog with its
parameters, progress and log, holds a lease while it runs, and can be stopped from elsewhere.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.table import Table

from datatrainer.annotation.types import local_admin
from datatrainer.cli.context import CliState, console, state
from datatrainer.errors import DatatrainerError
from datatrainer.jobs import LONG_COMMANDS, STATES, JobRun
from datatrainer.jobs.commands import jsonable, pin_inputs, resuming_job

app = typer.Typer(help="List, inspect, stop and resume long-running jobs.", no_args_is_help=True)
JobId = Annotated[int, typer.Argument(min=1, help="The job's number (see `datatrainer jobs list`).")]


@app.command("list")
def list_command(
    ctx: typer.Context,
    job_state: Annotated[str | None, typer.Option("--state", help=f"Only jobs in this state ({', '.join(STATES)}).")]
    = None,
    kind: Annotated[str | None, typer.Option(help="Only jobs of this command, e.g. embed or \"score ask-llm\".")]
    = None,
    limit: Annotated[int, typer.Option(min=1, help="Most jobs shown (newest first).")] = 50,
) -> None:
    """Jobs, newest first, with their state and progress."""
    if job_state is not None and job_state not in STATES:
        raise DatatrainerError(f"--state: unknown state {job_state!r}; use one of {', '.join(STATES)}")
    with state(ctx).open() as ws:
        jobs = ws.jobs.list_jobs(state=job_state, kind=kind, limit=limit)
    if not jobs:
        console.print("no jobs yet: long commands (embed, score, train, experiment samplers, dedup) run as jobs")
        return
    table = Table("id", "command", "inputs", "state", "progress", "owner", "started", "updated")
    for job in jobs:
        table.add_row(str(job.id), job.kind, ", ".join(job.inputs) or "-", job.state, job.progress_text(), job.owner,
                      f"{job.started_at:%Y-%m-%d %H:%M}" if job.started_at else "-", f"{job.updated_at:%H:%M:%S}")
    console.print(table)


@app.command("show")
def show_command(
    ctx: typer.Context,
    job_id: JobId,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """A job's command and parameters, state, progress, worker, lease and log."""
    with state(ctx).open() as ws:
        job = ws.jobs.get_job(job_id)
    if as_json:
        console.print_json(json.dumps(job.to_dict()))
        return
    out = [f"job {job.id}: {job.kind} ({job.state}{', stop requested' if job.stop_requested else ''})",
           f"parameters: {json.dumps(job.params, sort_keys=True)}",
           f"inputs: {', '.join(job.inputs) or '-'}",
           f"progress: {job.progress_text()}",
           f"owner: {job.owner}; attempts: {job.attempts}; worker: pid {job.pid or '-'} on {job.host or '-'}",
           f"created {job.created_at:%Y-%m-%d %H:%M:%S} UTC; updated {job.updated_at:%Y-%m-%d %H:%M:%S} UTC"]
    if job.error:
        out.append(f"error: {job.error}")
    out += ["log:", job.log.rstrip() or "(empty)"]
    console.print("\n".join(out), markup=False, highlight=False)


@app.command("stop")
def stop_command(ctx: typer.Context, job_id: JobId) -> None:
    """Ask a job to stop at its next checkpoint (what it finished stays stored); `jobs resume` continues it."""
    with state(ctx).open() as ws:
        job = ws.jobs.request_stop(job_id)
    said = "stopped" if job.state == "stopped" else f"asked to stop (pid {job.pid} on {job.host} stops at its next " \
                                                    "checkpoint)"
    console.print(f"job {job.id} ({job.kind}) {said}", markup=False, highlight=False)


@app.command("resume")
def resume_command(ctx: typer.Context, job_id: JobId) -> None:
    """Run a stopped, failed or killed job's command again with the same parameters, here; it continues from
    its last checkpoint (stored scores, embeddings, training checkpoints)."""
    cli = state(ctx)
    with cli.open() as ws:
        job = ws.jobs.resume(job_id, progress=cli.progress)
    console.print(f"job {job.id} ({job.kind}) {job.state}: {job.progress_text()}", markup=False, highlight=False)
    if job.state != "done":
        raise typer.Exit(130 if job.state == "stopped" else 1)


def wrap_long_commands(typer_app: typer.Typer, path: tuple[str, ...] = ()) -> None:
    """Run every command named in `LONG_COMMANDS` as a job; an error names any that is not registered."""
    found = _wrap(typer_app, path)
    missing = set(LONG_COMMANDS) - found
    if missing:
        raise RuntimeError(f"long commands not registered: {', '.join(sorted(missing))}")


def _wrap(typer_app: typer.Typer, path: tuple[str, ...]) -> set[str]:
    found: set[str] = set()
    for command in typer_app.registered_commands:
        assert command.callback is not None
        kind = " ".join((*path, command.name or command.callback.__name__.replace("_", "-")))
        if kind in LONG_COMMANDS:
            command.callback = as_job(kind, command.callback)
            found.add(kind)
    for group in typer_app.registered_groups:
        assert group.typer_instance is not None and group.name is not None
        found |= _wrap(group.typer_instance, (*path, group.name))
    return found


def as_job(kind: str, command: Callable[..., Any]) -> Callable[..., Any]:
    """The command, run as a job of `kind` (a new one, or the one `jobs resume` is resuming)."""

    @functools.wraps(command)
    def run_as_job(**kwargs: Any) -> Any:
        cli = state(kwargs["ctx"])
        with cli.open() as ws:
            resumed = resuming_job()
            if resumed is not None:
                run = JobRun.resumed(ws.jobs, resumed)
            else:
                params, inputs = pin_inputs(ws, kind, {k: jsonable(v) for k, v in kwargs.items() if k != "ctx"})
                kwargs.update({name: params[name] for name in LONG_COMMANDS[kind].inputs if name in kwargs})
                run = JobRun.new(ws.jobs, kind, params, _options(cli), inputs, local_admin().username)
            with run:
                return command(**kwargs)

    return run_as_job


def _options(cli: CliState) -> dict[str, Any]:
    """The global options a re-run needs (the workspace and catalog are the resuming caller's)."""
    return {"engine": cli.engine_name, "ray_address": cli.ray_address, "batch_rows": cli.batch_rows}
