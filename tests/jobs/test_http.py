"""The jobs REST API over HTTP: who may read and control jobs, one-line errors, and a resume that runs the job's
command in a process of its own (the lease itself is tested on both catalogs)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from datatrainer.annotation.types import local_admin
from datatrainer.server.app import create_app
from datatrainer.workspace import Workspace
from tests.conftest import write_lines

ROLES = {"root": "admin", "cora": "curator", "rita": "reviewer", "ann": "annotator"}


@pytest.fixture
def workspace(sqlite_workspace: Workspace) -> Workspace:
    """SQLite only: the lease and the service are tested on PostgreSQL too (test_service, test_race)."""
    return sqlite_workspace


@pytest.fixture
def clients(workspace: Workspace) -> Iterator[dict[str, TestClient]]:
    tokens = {}
    for name, role in ROLES.items():
        workspace.annotation.create_user(local_admin(), name, "correct horse battery", role=role)
        tokens[name] = workspace.annotation.create_api_token(local_admin(), "test", name).token
    with TestClient(create_app(workspace.root), base_url="http://testserver/api/v1") as anonymous:
        made = {name: TestClient(anonymous.app, base_url="http://testserver/api/v1",
                                 headers={"Authorization": f"Bearer {token}"}) for name, token in tokens.items()}
        yield {"": anonymous, **made}


def test_reading_and_controlling_jobs_over_http(workspace: Workspace, clients: dict[str, TestClient]) -> None:
    texts = ["one text", "another text", "one text"]
    version = workspace.ingest(write_lines(workspace.root / "in.jsonl", *[json.dumps({"id": str(i), "text": t})
                                                                           for i, t in enumerate(texts)]), "web")
    queued = workspace.jobs.create("embed", {"ref": version.ref}, {}, [version.ref], "local:someone")
    orphan = workspace.jobs.create("embed", {"ref": "gone@1"}, {}, ["gone@1"], "local:someone")
    dedup = workspace.jobs.create("dedup", {"ref": version.ref, "method": "exact"}, {"engine": "local"},
                                  [version.ref], "local:someone")
    for job in (orphan, dedup):
        workspace.jobs.request_stop(job.id)

    assert clients[""].get("/jobs").status_code == 401
    assert clients["ann"].get("/jobs").status_code == 403  # annotators have no jobs:read
    listed = clients["rita"].get("/jobs")
    assert listed.status_code == 200 and [j["id"] for j in listed.json()] == [dedup.id, orphan.id, queued.id]
    shown = clients["rita"].get(f"/jobs/{queued.id}").json()
    assert (shown["kind"], shown["state"], shown["inputs"]) == ("embed", "queued", [version.ref])
    assert clients["rita"].get("/jobs", params={"state": "stopped"}).json()[0]["id"] == dedup.id
    missing = clients["rita"].get("/jobs/999")
    assert missing.status_code == 404 and missing.json()["detail"] == "no job 999 (see `datatrainer jobs list`)"
    assert clients["rita"].post(f"/jobs/{queued.id}/stop").status_code == 403  # reviewers only read

    stopped = clients["cora"].post(f"/jobs/{queued.id}/stop")
    assert stopped.status_code == 200 and stopped.json()["state"] == "stopped"
    again = clients["cora"].post(f"/jobs/{queued.id}/stop")
    assert again.status_code == 409 and again.json()["detail"].startswith(f"job {queued.id} already ended (stopped")
    gone = clients["cora"].post(f"/jobs/{orphan.id}/resume")
    assert gone.status_code == 422
    assert gone.json()["detail"] == f"cannot resume job {orphan.id}: its input gone@1 no longer exists"

    resumed = clients["root"].post(f"/jobs/{dedup.id}/resume")
    assert resumed.status_code == 202, resumed.text
    deadline = time.monotonic() + 180
    while (job := workspace.jobs.get_job(dedup.id)).state not in ("done", "failed"):
        assert time.monotonic() < deadline, job
        time.sleep(0.1)
    assert job.state == "done", (job.error, (workspace.root / "jobs" / f"{dedup.id}.out").read_text())
    result = workspace.version("web@2")
    assert result.info.operation == "dedup" and result.num_rows == len(set(texts))
    assert clients["root"].post(f"/jobs/{dedup.id}/resume").status_code == 409  # done: nothing to resume
