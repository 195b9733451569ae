"""The job service and runner in process, on SQLite and PostgreSQL: lease, stop, reaping, resume checks."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from datatrainer.errors import NotFoundError
from datatrainer.jobs import JobInputsMissing, JobRun, JobStateError
from datatrainer.jobs.service import LOG_CHARS, _bounded
from datatrainer.progress import progress_bar
from datatrainer.store.models import JobRow
from datatrainer.workspace import Workspace
from tests.conftest import write_lines


def _expire(ws: Workspace, job_id: int) -> None:
    """What a SIGKILLed worker leaves: a lease nobody renews, now past."""
    with ws.catalog.engine.begin() as connection:
        connection.execute(update(JobRow).where(JobRow.id == job_id).values(
            lease_expires=datetime.now(UTC) - timedelta(seconds=1)))


def test_lease_is_exclusive_until_it_expires(workspace: Workspace) -> None:
    job = workspace.jobs.create("embed", {"ref": "web@1"}, {}, ["web@1"], "alice")
    assert job.state == "queued" and job.lease_holder is None
    assert workspace.jobs.claim(job.id, "first")
    assert not workspace.jobs.claim(job.id, "second")  # a live lease
    assert workspace.jobs.heartbeat(job.id, "second", 30, None, 0, None, []) is None  # not its job
    _expire(workspace, job.id)
    assert workspace.jobs.get_job(job.id).state == "failed"  # reaped: the worker stopped sending heartbeats
    assert "heartbeats" in (workspace.jobs.get_job(job.id).error or "")
    assert workspace.jobs.claim(job.id, "second")
    again = workspace.jobs.get_job(job.id)
    assert (again.state, again.lease_holder, again.attempts, again.error) == ("running", "second", 2, None)
    assert workspace.jobs.heartbeat(job.id, "first", 30, None, 0, None, []) is None  # the old worker lost it
    workspace.jobs.finish(job.id, "second", "done", None, "embedding", 10, 10, ["finished"])
    assert not workspace.jobs.claim(job.id, "third")  # done jobs are never run again
    with pytest.raises(JobStateError, match=rf"job {job.id} is done at .*: nothing to resume"):
        workspace.jobs.check_resumable(job.id)


def test_stop_of_an_ended_or_queued_job(workspace: Workspace) -> None:
    queued = workspace.jobs.create("dedup", {}, {}, [], "alice")
    assert workspace.jobs.request_stop(queued.id).state == "stopped"
    with pytest.raises(JobStateError, match=rf"^job {queued.id} already ended \(stopped at .*\): nothing to stop$"):
        workspace.jobs.request_stop(queued.id)
    with pytest.raises(NotFoundError, match="no job 999"):
        workspace.jobs.request_stop(999)


def test_resume_names_the_deleted_inputs(workspace: Workspace, tmp_path: object) -> None:
    present = workspace.ingest(write_lines(workspace.root / "in.jsonl", '{"id": "a", "text": "x"}'), "web")
    job = workspace.jobs.create("score ask-llm", {"ref": present.ref}, {}, [present.ref, "gone@3", "lost@1"],
                                "alice")
    with pytest.raises(JobInputsMissing) as raised:
        workspace.jobs.check_resumable(job.id)
    assert str(raised.value) == f"cannot resume job {job.id}: its inputs gone@3, lost@1 no longer exist"


def test_a_job_off_the_main_thread_stops_at_its_next_progress_step(workspace: Workspace) -> None:
    """The Python API's path: no signal, the next progress advance raises (a KeyboardInterrupt, as Ctrl-C)."""
    outcome: dict[str, object] = {}
    started = threading.Event()

    def work() -> None:
        run = JobRun.new(workspace.jobs, "embed", {"ref": "web@1"}, {}, ["web@1"], "alice")
        outcome["id"] = run.job.id
        try:
            with run, progress_bar("embedding", 1_000_000, enabled=False) as advance:
                for _ in range(1_000_000):
                    advance(1)
                    started.set()
                    time.sleep(0.001)
        except KeyboardInterrupt as exc:
            outcome["raised"] = exc

    thread = threading.Thread(target=work)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATATRAINER_JOB_HEARTBEAT", "0.05")
        thread.start()
        assert started.wait(30)
        job_id = int(outcome["id"])  # type: ignore[call-overload]
        while workspace.jobs.get_job(job_id).done == 0:  # the heartbeat carries progress
            time.sleep(0.02)
        assert workspace.jobs.request_stop(job_id).state == "stopping"
        thread.join(30)
    job = workspace.jobs.get_job(job_id)
    assert type(outcome["raised"]).__name__ == "JobStopped"
    assert job.state == "stopped" and job.lease_holder is None and job.phase == "embedding"
    assert 0 < job.done < 1_000_000 and job.total == 1_000_000
    assert "stop requested" in job.log and job.log.rstrip().endswith("stopped")


def test_the_log_keeps_its_newest_lines_within_its_bound() -> None:
    lines = [f"line {i:06d}" for i in range(5000)]
    log = _bounded("", lines)
    assert len(log) <= LOG_CHARS and log.endswith("line 004999\n")
    assert log.splitlines()[0].startswith("line ") and len(log.splitlines()[0]) == len("line 000000")
    assert log.splitlines() == lines[-len(log.splitlines()):]
