"""`datatrainer jobs ...` and the long commands run as jobs: a real embed job stopped from another process,
resumed, killed with SIGKILL, and resumed again to completion from what its store kept."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from datatrainer.cli.app import app
from datatrainer.jobs import JobInfo
from datatrainer.models.embedders import load_embedder
from datatrainer.workspace import Workspace
from tests.conftest import write_lines

runner = CliRunner()


def cli(root: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--workspace", str(root), "--no-progress", *args], env={"COLUMNS": "200"})
    return result.exit_code, result.output + (str(result.exception) if result.exception else "")


def test_a_dedup_runs_as_a_job_and_says_when_it_ended(sqlite_workspace: Workspace) -> None:
    root = sqlite_workspace.root
    texts = [f"record {i} about topic {i % 5}" for i in range(40)] + ["record 1 about topic 1"]
    sqlite_workspace.ingest(write_lines(root / "in.jsonl", *[json.dumps({"id": str(i), "text": t})
                                                               for i, t in enumerate(texts)]), "web")
    code, out = cli(root, "dedup", "web", "--method", "exact")
    assert code == 0, out
    job = sqlite_workspace.jobs.list_jobs()[0]
    assert (job.kind, job.state, job.inputs, job.params["ref"], job.params["method"]) == (
        "dedup", "done", ["web@1"], "web@1", "exact")  # the input is pinned: a resume reads the same version
    assert job.done == job.total == len(texts) and "done" in job.log
    code, out = cli(root, "jobs", "list")
    assert code == 0 and f"{job.id}" in out and "dedup" in out and "done" in out
    code, out = cli(root, "jobs", "show", str(job.id), "--json")
    assert code == 0 and json.loads(out)["params"]["method"] == "exact"
    code, out = cli(root, "jobs", "stop", str(job.id))
    assert code == 1 and f"job {job.id} already ended (done at " in out
    code, out = cli(root, "jobs", "resume", str(job.id))
    assert code == 1 and f"job {job.id} is done at" in out and "nothing to resume" in out
    code, out = cli(root, "jobs", "show", "77")
    assert code == 1 and "no job 77" in out
    # a stopped dedup of the result, whose input is then deleted: the resume names it, in one line
    code, out = cli(root, "dedup", "web@2", "--method", "exact", "--name", "again")
    assert code == 0, out
    again = sqlite_workspace.jobs.list_jobs()[0]
    sqlite_workspace.jobs.create("dedup", again.params, again.options, again.inputs, "local:test")
    stopped = sqlite_workspace.jobs.request_stop(sqlite_workspace.jobs.list_jobs()[0].id)
    code, out = cli(root, "datasets", "delete", "web@2", "--with-descendants")
    assert code == 0, out
    code, out = cli(root, "jobs", "resume", str(stopped.id))
    assert code == 1 and f"cannot resume job {stopped.id}: its input web@2 no longer exists" in out


def _wait(ws: Workspace, job_id: int, ready: object, process: subprocess.Popen[str] | None = None) -> JobInfo:
    deadline = time.monotonic() + 180
    while True:
        job = ws.jobs.get_job(job_id)
        if ready(job):  # type: ignore[operator]
            return job
        assert time.monotonic() < deadline, job
        assert process is None or process.poll() is None, process.communicate()
        time.sleep(0.05)


@pytest.mark.slow
def test_stop_kill_and_resume_an_embed_job(sqlite_workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    ws, root = sqlite_workspace, sqlite_workspace.root
    rows = 1500  # enough shards that the stop, seen at the next heartbeat, lands before the last one
    version = ws.ingest(write_lines(root / "in.jsonl", *[json.dumps({"id": str(i), "text": f"sentence {i} on "
                                                                     f"topic {i % 37} and {i % 11}"})
                                                         for i in range(rows)]), "web")
    env = {**os.environ, "DATATRAINER_JOB_HEARTBEAT": "0.05", "DATATRAINER_JOB_LEASE": "1", "COLUMNS": "200"}
    monkeypatch.setenv("DATATRAINER_JOB_HEARTBEAT", "0.05")
    command = [sys.executable, "-m", "datatrainer", "--workspace", str(root), "--no-progress"]
    embed = ["embed", "web", "--backend", "onnx", "--batch-size", "1", "--shard-rows", "8"]
    embedder = load_embedder("minilm", "onnx")

    def stored() -> int:
        return rows - len(ws.embeddings.missing(version, embedder.name, embedder.config_hash()))

    # 1. started from one process, stopped from another: it stops at its next shard, keeping what it stored
    first = subprocess.Popen([*command, *embed], env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    job_id = _first_job(ws, first)
    _wait(ws, job_id, lambda j: j.done > 0, first)
    assert ws.jobs.request_stop(job_id).state == "stopping"
    out, err = first.communicate(timeout=120)
    assert first.returncode == 130, err
    assert "run the same command to continue" in out
    job = ws.jobs.get_job(job_id)
    assert job.state == "stopped" and 0 < stored() < rows
    # 2. resumed by a process that is then killed: its lease runs out and the job reads as failed
    second = subprocess.Popen([*command, "jobs", "resume", str(job_id)], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    before = stored()
    _wait(ws, job_id, lambda j: j.attempts == 2 and j.done > 0, second)
    second.send_signal(signal.SIGKILL)
    second.wait(30)
    killed = _wait(ws, job_id, lambda j: j.state == "failed")
    assert "heartbeats" in (killed.error or "") and stored() >= before
    # 3. resumed here: only what is still missing is computed, and every record ends up embedded once
    missing = rows - stored()
    code, out = cli(root, "jobs", "resume", str(job_id))
    assert code == 0, out
    assert f"embedded {missing:,} texts of web@1" in out
    assert stored() == rows
    done = ws.jobs.get_job(job_id)
    assert (done.state, done.attempts, done.done, done.total) == ("done", 3, missing, missing)


def _first_job(ws: Workspace, process: subprocess.Popen[str]) -> int:
    deadline = time.monotonic() + 180
    while not ws.jobs.list_jobs():
        assert time.monotonic() < deadline and process.poll() is None, process.communicate()
        time.sleep(0.05)
    return ws.jobs.list_jobs()[0].id
