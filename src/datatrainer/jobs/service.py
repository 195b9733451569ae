"""`JobService` (`ws.jobs`): the jobs table in the catalog, read and changed in short transactions.

Two sides use it. Callers (the CLI's `jobs` commands, the REST API, the dashboard) list, show, stop and
resume jobs. Workers (`datatrainer.jobs.runner.JobRun`) create or claim a job, renew its lease with
heartbeats that also carry progress and log lines, and finish it. Every change a worker makes is
conditional on still holding the lease, so a worker that lost its job (its lease ran out and another claimed
it) can no longer write to it.
"""

from __future__ import annotations

import os
import socket
import subprocess  # nosec B404  # argument lists only, never a shell
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import sessionmaker

from datatrainer.errors import NotFoundError
from datatrainer.jobs.types import ACTIVE, STATES, JobInfo, JobInputsMissing, JobState, JobStateError
from datatrainer.store.models import JobRow

if TYPE_CHECKING:
    from datatrainer.workspace import Workspace

LOG_CHARS = 20_000  # the log keeps its newest lines up to this size: a job's log never grows without bound
JOBS_DIR = "jobs"  # <workspace>/jobs/<id>.out: the output of jobs resumed in the background


def now() -> datetime:
    return datetime.now(UTC)


def this_host() -> str:
    return socket.gethostname()


class JobService:
    """List, show, stop and resume jobs; and the worker side of the lease (create, claim, heartbeat, finish).

    Who may do what is decided at the edge (the server's `jobs:read` and `jobs:write` scopes; the CLI's
    operator has the database anyway), so these methods take no caller.
    """

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._sessions = sessionmaker(ws.catalog.engine, expire_on_commit=False)

    # --- callers -------------------------------------------------------------------------------------------

    def list_jobs(self, state: JobState | None = None, kind: str | None = None,
                  limit: int = 100) -> list[JobInfo]:
        """Newest first."""
        self._reap()
        query = select(JobRow).order_by(JobRow.id.desc()).limit(limit)
        if state is not None:
            query = query.where(JobRow.state == state)
        if kind is not None:
            query = query.where(JobRow.kind == kind)
        with self._sessions() as session:
            return [_info(row) for row in session.scalars(query)]

    def get_job(self, job_id: int) -> JobInfo:
        self._reap(job_id)
        with self._sessions() as session:
            row = session.get(JobRow, job_id)
            if row is None:
                raise NotFoundError(f"no job {job_id} (see `datatrainer jobs list`)")
            return _info(row)

    def request_stop(self, job_id: int) -> JobInfo:
        """Ask the job to stop at its next checkpoint: its worker polls this flag with every heartbeat and
        interrupts itself as Ctrl-C would (what was finished stays stored). A queued job stops at once."""
        job = self.get_job(job_id)
        if job.ended:
            raise JobStateError(f"job {job_id} already ended ({job.state}{_when(job.finished_at)}): nothing to stop")
        with self._sessions.begin() as session:
            session.execute(update(JobRow).where(JobRow.id == job_id, JobRow.state == "queued").values(
                state="stopped", finished_at=now(), updated_at=now()))
            session.execute(update(JobRow).where(JobRow.id == job_id, JobRow.state.in_(ACTIVE)).values(
                state="stopping", stop_requested=True, updated_at=now()))
        return self.get_job(job_id)

    def check_resumable(self, job_id: int) -> JobInfo:
        """The job, if it may resume now: not done, not held by a live worker, and every input version still
        there (else one line naming the missing ones)."""
        job = self.get_job(job_id)
        if job.state == "done":
            raise JobStateError(f"job {job_id} is done{_when(job.finished_at)}: nothing to resume")
        if job.state in ACTIVE:
            raise JobStateError(f"job {job_id} is {job.state} (pid {job.pid} on {job.host}): stop it first, or wait "
                                "for it to end")
        missing = [ref for ref in job.inputs if not self._exists(ref)]
        if missing:
            plural = len(missing) > 1
            raise JobInputsMissing(f"cannot resume job {job_id}: its input{'s' if plural else ''} "
                                   f"{', '.join(missing)} no longer exist{'' if plural else 's'}")
        return job

    def resume(self, job_id: int, progress: bool = False) -> JobInfo:
        """Re-run the job's command with its parameters in this process, continuing from what its stores and
        checkpoints hold; returns the job as it ended."""
        from datatrainer.jobs.commands import rerun

        job = self.check_resumable(job_id)
        rerun(self.ws, job, progress)
        return self.get_job(job_id)

    def resume_in_background(self, job_id: int) -> JobInfo:
        """Start `datatrainer jobs resume ID` as a process of its own (the server's and dashboard's resume),
        its output in `<workspace>/jobs/ID.out`; returns at once."""
        job = self.check_resumable(job_id)
        folder = self.ws.root / JOBS_DIR
        folder.mkdir(exist_ok=True)
        environment = {**os.environ, "DATATRAINER_WORKSPACE": str(self.ws.root),
                       "DATATRAINER_DB_URL": self.ws.catalog.url}
        with open(folder / f"{job_id}.out", "ab") as out:
            subprocess.Popen([sys.executable, "-m", "datatrainer", "--no-progress", "jobs", "resume", str(job_id)],  # nosec B603  # a fixed argument list (our interpreter or sandbox), no shell, no user text
                             stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=environment,
                             cwd=Path(self.ws.root), start_new_session=True)
        return job

    # --- workers -------------------------------------------------------------------------------------------

    def create(self, kind: str, params: dict[str, Any], options: dict[str, Any], inputs: list[str], owner: str,
               holder: str | None = None, lease_s: float = 30.0) -> JobInfo:
        """Record a job; with `holder`, already claimed by it (running), else queued."""
        at = now()
        row = JobRow(kind=kind, params=params, options=options, inputs=inputs, state="queued", stop_requested=False,
                     done=0.0, log="", owner=owner, attempts=0, created_at=at, updated_at=at)
        if holder is not None:
            _claimed(row, holder, at, lease_s)
        with self._sessions.begin() as session:
            session.add(row)
            session.flush()
            return _info(row)

    def claim(self, job_id: int, holder: str, lease_s: float = 30.0) -> bool:
        """Take the job for `holder` if no live worker holds it and it is not done: one conditional UPDATE, so of
        two workers racing for the same job exactly one wins (on SQLite and PostgreSQL alike)."""
        at = now()
        values = {"state": "running", "stop_requested": False, "error": None, "lease_holder": holder,
                  "lease_expires": at + timedelta(seconds=lease_s), "host": this_host(), "pid": os.getpid(),
                  "attempts": JobRow.attempts + 1, "started_at": at, "finished_at": None, "updated_at": at}
        with self._sessions.begin() as session:
            result = session.execute(update(JobRow).where(
                JobRow.id == job_id, JobRow.state != "done",
                or_(JobRow.lease_holder.is_(None), JobRow.lease_expires < at)).values(**values))
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def heartbeat(self, job_id: int, holder: str, lease_s: float, phase: str | None, done: float,
                  total: float | None, lines: list[str]) -> bool | None:
        """Renew the lease and record progress and new log lines; returns whether a stop was requested, or
        None if `holder` no longer holds the job."""
        at = now()
        with self._sessions.begin() as session:
            row = session.scalar(select(JobRow).where(JobRow.id == job_id, JobRow.lease_holder == holder)
                                 .with_for_update())
            if row is None:
                return None
            row.lease_expires = at + timedelta(seconds=lease_s)
            row.phase, row.done, row.total, row.updated_at = phase, done, total, at
            if lines:
                row.log = _bounded(row.log, lines)
            return bool(row.stop_requested)

    def finish(self, job_id: int, holder: str, state: JobState, error: str | None, phase: str | None, done: float,
               total: float | None, lines: list[str]) -> None:
        """End the job and give up its lease (a no-op for a worker that lost it)."""
        at = now()
        with self._sessions.begin() as session:
            row = session.scalar(select(JobRow).where(JobRow.id == job_id, JobRow.lease_holder == holder)
                                 .with_for_update())
            if row is None:
                return
            row.state, row.error, row.phase, row.done, row.total = state, error, phase, done, total
            row.lease_holder = row.lease_expires = None
            row.finished_at = row.updated_at = at
            row.log = _bounded(row.log, lines)

    # --- internals -----------------------------------------------------------------------------------------

    def _exists(self, ref: str) -> bool:
        try:
            self.ws.version(ref)
        except NotFoundError:
            return False
        return True

    def _reap(self, job_id: int | None = None) -> None:
        """Mark running jobs whose lease ran out as failed: their worker was killed or lost its host. Resuming
        them continues from their last checkpoint."""
        at = now()
        query = update(JobRow).where(JobRow.state.in_(ACTIVE), JobRow.lease_expires < at)
        if job_id is not None:
            query = query.where(JobRow.id == job_id)
        with self._sessions.begin() as session:
            session.execute(query.values(
                state="failed", lease_holder=None, lease_expires=None, finished_at=at, updated_at=at,
                error="the worker stopped sending heartbeats (killed, or its host went away); resume continues "
                      "from the last checkpoint"))


def _claimed(row: JobRow, holder: str, at: datetime, lease_s: float) -> None:
    row.state, row.lease_holder, row.lease_expires = "running", holder, at + timedelta(seconds=lease_s)
    row.host, row.pid, row.attempts, row.started_at = this_host(), os.getpid(), row.attempts + 1, at


def _bounded(log: str, lines: list[str]) -> str:
    text = log + "".join(f"{line}\n" for line in lines)
    if len(text) <= LOG_CHARS:
        return text
    cut = text.find("\n", len(text) - LOG_CHARS)
    return text[cut + 1:]


def _when(moment: datetime | None) -> str:
    return f" at {moment:%Y-%m-%d %H:%M:%S} UTC" if moment is not None else ""


def _utc(moment: datetime | None) -> datetime | None:
    """SQLite gives back naive datetimes; every time here is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _info(row: JobRow) -> JobInfo:
    assert row.state in STATES
    created, updated = _utc(row.created_at), _utc(row.updated_at)
    assert created is not None and updated is not None
    return JobInfo(id=row.id, kind=row.kind, params=dict(row.params), options=dict(row.options),
                   inputs=list(row.inputs), state=row.state,
                   stop_requested=row.stop_requested, phase=row.phase, done=row.done, total=row.total, log=row.log,
                   error=row.error, owner=row.owner, host=row.host, pid=row.pid, lease_holder=row.lease_holder,
                   lease_expires=_utc(row.lease_expires), attempts=row.attempts, created_at=created,
                   started_at=_utc(row.started_at), updated_at=updated, finished_at=_utc(row.finished_at))
