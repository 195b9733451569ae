"""Jobs over HTTP: list and show them (`jobs:read`), stop and resume them (`jobs:write`).

A resume starts `datatrainer jobs resume ID` as a process of its own and answers at once (202); the job's
state and progress then show in `GET /jobs/{id}` as its worker reports them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from datatrainer.jobs import STATES, JobInfo, JobState
from datatrainer.server.deps import JobsRead, JobsWrite, Ws
from datatrainer.server.schemas import MAX_ID, NO_NUL

router = APIRouter(prefix="/jobs", tags=["jobs"])
JobId = Annotated[int, Path(ge=1, le=MAX_ID)]


class JobOut(BaseModel):
    """A job: its command and parameters, state, progress (`done` of `total` in `phase`), worker and log."""

    id: int
    kind: str
    params: dict[str, Any]
    inputs: list[str]
    state: JobState
    stop_requested: bool
    phase: str | None
    done: float
    total: float | None
    fraction: float | None
    error: str | None
    owner: str
    host: str | None
    pid: int | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    updated_at: datetime
    finished_at: datetime | None
    log: str

    @classmethod
    def of(cls, job: JobInfo) -> JobOut:
        return cls(id=job.id, kind=job.kind, params=job.params, inputs=job.inputs, state=job.state,
                   stop_requested=job.stop_requested, phase=job.phase, done=job.done, total=job.total,
                   fraction=job.fraction, error=job.error, owner=job.owner, host=job.host, pid=job.pid,
                   attempts=job.attempts, created_at=job.created_at, started_at=job.started_at,
                   updated_at=job.updated_at, finished_at=job.finished_at, log=job.log)


@router.get("", response_model=list[JobOut])
async def list_jobs(api: JobsRead, ws: Ws,
                    state: Annotated[JobState | None, Query(description=f"One of {', '.join(STATES)}.")] = None,
                    kind: Annotated[str | None, Query(max_length=100, pattern=NO_NUL)] = None,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[JobOut]:
    """Jobs, newest first."""
    return [JobOut.of(job) for job in await api.run(lambda _: ws.jobs.list_jobs(state, kind, limit))]


@router.get("/{job_id}", response_model=JobOut)
async def show_job(job_id: JobId, api: JobsRead, ws: Ws) -> JobOut:
    """One job with its log (404 if there is none with this id)."""
    return JobOut.of(await api.run(lambda _: ws.jobs.get_job(job_id)))


@router.post("/{job_id}/stop", response_model=JobOut)
async def stop_job(job_id: JobId, api: JobsWrite, ws: Ws) -> JobOut:
    """Ask the job to stop at its next checkpoint (409 if it already ended)."""
    return JobOut.of(await api.run(lambda _: ws.jobs.request_stop(job_id)))


@router.post("/{job_id}/resume", response_model=JobOut, status_code=202)
async def resume_job(job_id: JobId, api: JobsWrite, ws: Ws) -> JobOut:
    """Start the job again in a process of its own, from its last checkpoint (409 if it is done or running,
    422 naming the input versions that no longer exist)."""
    return JobOut.of(await api.run(lambda _: ws.jobs.resume_in_background(job_id)))
