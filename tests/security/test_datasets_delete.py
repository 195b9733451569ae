"""`datatrainer datasets delete`: refuses while versions, projects or models depend on the target; with
`--with-descendants` removes them all (rows, folders, audit entry)."""

from __future__ import annotations

from pathlib import Path

from datatrainer.errors import DatatrainerError
from datatrainer.workspace import Workspace
from tests.annotation.core_fixtures import ADMIN
from tests.security.test_erase import _cli, build


def test_delete_refuses_dependents_then_cascades(workspace: Workspace, tmp_path: Path) -> None:
    ws = workspace
    build(ws, tmp_path)
    keys = {ref: ws.version(ref).info.storage_key for ref in ("docs@1", "docs-long@1")}
    refused = _cli(ws, "datasets", "delete", "docs")
    assert refused.exit_code == 1 and isinstance(refused.exception, DatatrainerError)
    message = str(refused.exception)
    assert "version docs-long@1" in message and "annotation project p" in message and "--with-descendants" in message

    leaf = _cli(ws, "datasets", "delete", "docs-long@1")  # nothing depends on the leaf
    assert leaf.exit_code == 0, leaf.output
    assert not (ws.root / "versions" / keys["docs-long@1"]).exists() and ws.datasets.names() == ["docs"]

    done = _cli(ws, "datasets", "delete", "docs", "--with-descendants")
    assert done.exit_code == 0 and "1 annotation project" in done.output, done.output
    assert ws.datasets.names() == [] and not (ws.root / "versions" / keys["docs@1"]).exists()
    assert ws.annotation.list_projects(ADMIN) == []
    assert [e.action for e in ws.audit.entries(limit=None)][-2:] == ["dataset.delete", "dataset.delete"]
    assert ws.audit.verify().ok
    missing = _cli(ws, "datasets", "delete", "docs")
    assert missing.exit_code == 1 and "no dataset named 'docs'" in str(missing.exception)
