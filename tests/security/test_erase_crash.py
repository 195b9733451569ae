"""An erasure killed with SIGKILL at any step is finished by the next run, never leaving a version half-written.

One workspace, one erasure, killed again and again: each run resumes the journal and dies at the next crash
point (`DATATRAINER_ERASE_KILL_AT`), until a last run finishes. Between runs every version must read back
whole (its catalog row count equals its files' rows), and at the end the subject's text is gone everywhere.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy.orm import sessionmaker

from datatrainer.compliance.erasure import KILL_ENV, erase
from datatrainer.compliance.guard import inputs_unchanged
from datatrainer.compliance.select import Selector
from datatrainer.errors import DatatrainerError
from datatrainer.workspace import Workspace
from tests.security.test_erase import SECRETS, _files_with, _rows_with, build

# In the order the erasure reaches them; "swap" falls between a rewritten version's files landing in
# versions/ and the catalog naming them.
CRASH_POINTS = ("planned", "swap", "version", "stores", "exports", "receipt", "vacuum")


def _erase_in_child(root: Path, kill_at: str | None, where: str | None) -> None:
    os.environ[KILL_ENV] = kill_at or ""
    with Workspace.open(root) as ws:
        erase(ws, Selector(where=where) if where else None)


def _run(root: Path, kill_at: str | None, where: str | None = None) -> int | None:
    """Erase in a forked process (the CLI's imports take seconds; a fork shares them) and return its exit code."""
    child = multiprocessing.get_context("fork").Process(target=_erase_in_child, args=(root, kill_at, where))
    child.start()
    child.join(120)
    return child.exitcode


def _versions_whole(root: Path) -> None:
    with Workspace.open(root) as ws:
        for name in ws.datasets.names():
            for version in ws.datasets.versions(name):
                assert sum(pq.ParquetFile(path).metadata.num_rows for path in version.files) == version.num_rows


def test_sigkill_at_every_step_then_resume(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws:
        export = build(ws, tmp_path)
    root = ws.root
    for number, point in enumerate(CRASH_POINTS):
        where = "author_id = 'u123'" if number == 0 else None  # later runs only resume
        assert _run(root, point, where) == -signal.SIGKILL, point
        _versions_whole(root)
    assert _run(root, None) == 0
    with Workspace.open(root) as ws:
        assert _files_with(root, SECRETS) == [] and _files_with(export, SECRETS) == []
        assert _rows_with(ws, SECRETS) == []
        assert ws.version("docs@1").num_rows == 6 and ws.version("docs-long@1").num_rows == 6
        assert [e.action for e in ws.audit.entries(limit=None)].count("erase.run") == 1
        assert ws.audit.verify().ok
        assert {p.name for p in (root / "versions").iterdir()} == ws.catalog.storage_keys()  # no orphan left
    assert _run(root, None, "author_id = 'u123'") == 0  # and again: nothing left to match


def test_a_version_derived_while_the_erasure_ran_is_erased_too(tmp_path: Path) -> None:
    """Another process filters the subject's version after the plan was made: the erasure finds the new
    descendant through lineage and rewrites it as well."""
    with Workspace.init(tmp_path / "ws") as ws:
        build(ws, tmp_path)
    root = ws.root
    assert _run(root, "planned", "author_id = 'u123'") == -signal.SIGKILL
    with Workspace.open(root) as ws:
        late = ws.apply("filter", ["docs@1"], {"where": "true"}, name="late")
        assert late.num_rows == 8
    assert _run(root, None) == 0
    with Workspace.open(root) as ws:
        assert ws.version("late@1").num_rows == 6 and _rows_with(ws, SECRETS) == []
        assert _files_with(root, SECRETS) == []


def test_an_operation_that_read_an_erased_input_does_not_publish(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    """The guard in every operation's publishing transaction: an input whose files an erasure swapped after
    the operation read it refuses the publish (the erasure catches outputs published before its swap)."""
    ws = sqlite_workspace
    build(ws, tmp_path)
    read_before = ws.version("docs@1").info
    erase(ws, Selector(where="author_id = 'u123'"))
    with pytest.raises(DatatrainerError, match="rewritten by an erasure"), \
            sessionmaker(ws.catalog.engine).begin() as session:
        inputs_unchanged([read_before])(session, read_before)
    with sessionmaker(ws.catalog.engine).begin() as session:  # the current input is fine
        inputs_unchanged([ws.version("docs@1").info])(session, read_before)
