"""A writer killed between the rename into `versions/` and the catalog commit leaves no version anyone can
see, an orphan folder that `gc` removes, an intact audit chain, and the same version number for the next try."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from datatrainer.workspace import Workspace

JOB = Path(__file__).with_name("commit_crash_job.py")


@pytest.mark.parametrize("mode", ["after-rename", "in-transaction"])
def test_a_commit_killed_after_the_rename_publishes_nothing(workspace: Workspace, catalog_url: str | None,
                                                             mode: str) -> None:
    root = workspace.root
    killed = subprocess.run([sys.executable, str(JOB), str(root), catalog_url or "", mode], capture_output=True,
                            timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]
    with Workspace.open(root, catalog_url) as ws:
        assert "crash" not in ws.datasets.names()
        on_disk = {p.name for p in (root / "versions").iterdir()}
        orphans = on_disk - ws.catalog.storage_keys()
        assert len(orphans) == 1  # the renamed folder, which no catalog row names
        removed = ws.collect_garbage(min_age=0)
        assert {Path(str(p)).name for p in removed} >= orphans
        assert {p.name for p in (root / "versions").iterdir()} == ws.catalog.storage_keys()
        assert ws.audit.verify().ok
        with ws.datasets.new_version() as writer:
            writer.write_part(0, pa.table({"id": ["a", "b"], "text": ["first", "second"]}))
            info = writer.commit(dataset="crash", operation="test", params={})
        assert info.ref == "crash@1"
        assert ws.version("crash@1").to_table().column("text").to_pylist() == ["first", "second"]
