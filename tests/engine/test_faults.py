"""Ray workers dying mid-operation, on a 2-node cluster on this machine (run in a child process, see
fault_job.py): a killed worker's task is retried and the result is right; a batch that kills every attempt
fails with one line and publishes nothing; a driver that dies leaves only staging leftovers, which `gc`
removes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pytest

from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace

pytest.importorskip("ray")
pytestmark = pytest.mark.slow
JOB = Path(__file__).with_name("fault_job.py")


def _run(ws: Workspace) -> tuple[int, dict[str, dict[str, Any]]]:
    done = subprocess.run([sys.executable, str(JOB), str(ws.root)], capture_output=True, text=True,
                          timeout=300, cwd=Path(__file__).parents[2])
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return done.returncode, {result["mode"]: result for result in results} or {"stderr": done.stderr[-3000:]}


def _expected(source: DatasetVersion) -> list[str]:
    table = source.to_table()
    return table.filter(pc.greater(pc.utf8_length(table["text"]), 30))["id"].to_pylist()


def _refs(ws: Workspace) -> list[str]:
    return [version.ref for name in ws.datasets.names() for version in ws.datasets.versions(name)]


def _staging(ws: Workspace) -> list[Path]:
    return [path for path in (ws.root / "tmp").iterdir() if path.is_dir()]


def test_workers_dying_on_a_two_node_cluster(sqlite_workspace: Workspace, parted: DatasetVersion) -> None:
    before = _refs(sqlite_workspace)
    code, results = _run(sqlite_workspace)
    assert code == 3, results  # the driver ended itself in the last mode

    once = results["kill-once"]  # a worker killed mid-operation: its task is retried, the result is right
    assert once["killed"] and once["ids"] == _expected(parted), once

    always = results["kill-always"]  # every attempt dies: one line, nothing published
    assert "\n" not in always["error"] and "slow-keep-long" in always["error"], always
    assert sorted(_refs(sqlite_workspace)) == sorted([*before, "kill-once@1"])

    # The driver died with parts in the staging folder: nothing published, and gc removes the leftovers.
    leftovers = _staging(sqlite_workspace)
    assert leftovers and any(folder.glob("part-*.parquet") for folder in leftovers)
    sqlite_workspace.collect_garbage(min_age=0)
    assert not _staging(sqlite_workspace)
