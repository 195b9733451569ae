"""Two worker processes race for the same job: exactly one runs it (SQLite and PostgreSQL)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from datatrainer.workspace import Workspace

# Each worker opens the workspace, says it is ready, waits for the start signal, then tries to run the job.
WORKER = """
import sys, time
from pathlib import Path
from datatrainer.jobs import JobRun, JobStateError
from datatrainer.workspace import Workspace

root, url, job_id, folder = sys.argv[1], sys.argv[2] or None, int(sys.argv[3]), Path(sys.argv[4])
with Workspace.open(root, url) as ws:
    (folder / f"ready-{sys.argv[5]}").touch()
    while not (folder / "go").exists():
        time.sleep(0.002)
    try:
        run = JobRun.resumed(ws.jobs, job_id)
    except JobStateError as exc:
        print(f"refused: {exc}")
    else:
        with run:
            time.sleep(1.0)  # hold the job while the other worker tries
        print("ran")
"""


def test_two_processes_racing_for_one_job_run_it_once(workspace: Workspace, tmp_path: Path) -> None:
    job = workspace.jobs.create("dedup", {"ref": "web@1"}, {}, [], "alice")
    url = "" if workspace.catalog.url.startswith("sqlite") else workspace.catalog.url
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, str(workspace.root), url, str(job.id), str(tmp_path),
                                 str(n)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for n in range(2)]
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"ready-{n}").exists() for n in range(2)):
        assert time.monotonic() < deadline and all(w.poll() is None for w in workers), \
            [w.communicate() for w in workers]
        time.sleep(0.01)
    (tmp_path / "go").touch()
    outputs = [w.communicate(timeout=120) for w in workers]
    assert all(w.returncode == 0 for w in workers), outputs
    said = sorted(out.strip() for out, _ in outputs)
    assert said[0] == "ran" and said[1].startswith(f"refused: job {job.id} is "), said
    finished = workspace.jobs.get_job(job.id)
    assert (finished.state, finished.attempts) == ("done", 1)
