"""`--overwrite` replaces only what datatrainer wrote: never the workspace, a folder containing it, its catalog,
or a folder of someone else's files; dataset exports and annotation exports alike, through the CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from datatrainer.annotation.types import local_admin
from datatrainer.cli.app import app
from datatrainer.io.overwrite import MARKER
from datatrainer.workspace import Workspace
from tests.conftest import write_lines

runner = CliRunner()


def cli(*args: str) -> tuple[int, str]:
    """Exit code and output; a datatrainer error is the one line `main()` prints as `error: ...`."""
    result = runner.invoke(app, ["--no-progress", *args], env={"COLUMNS": "200"})
    error = f"error: {result.exception}\n" if result.exception is not None else ""
    return result.exit_code, result.output + error


def _files(folder: Path) -> dict[str, int]:
    """Every file under `folder` with its size: what must survive a refused overwrite."""
    return {str(p.relative_to(folder)): p.stat().st_size for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace that is the current folder (the CLI's default), with a dataset and an annotated project."""
    root = tmp_path / "ws"
    with Workspace.init(root) as ws:
        ws.ingest(write_lines(tmp_path / "in.jsonl", *[json.dumps({"id": str(i), "text": f"text {i}"})
                                                       for i in range(3)]), "web")
        svc = ws.annotation
        project = svc.create_project(local_admin(), "p", "web", "classification", ["a", "b"])
        ann = svc.create_user(local_admin(), "ann", "a long password")
        svc.add_member(local_admin(), project.id, "ann", "annotator")
        while (task := svc.next_task(ann, project.id)) is not None:
            svc.submit(ann, task.id, {"labels": ["a"]})
    monkeypatch.chdir(root)
    monkeypatch.delenv("DATATRAINER_WORKSPACE", raising=False)
    return root


def test_overwrite_never_replaces_the_workspace_or_a_folder_containing_it(root: Path) -> None:
    before = _files(root)
    for args in (["export", "web", "--out", ".", "--format", "jsonl", "--overwrite"],
                 ["export", "web", "--out", "..", "--format", "jsonl", "--overwrite"],
                 ["export", "web", "--out", "versions", "--format", "jsonl", "--overwrite"],
                 ["annotate", "export", "p", "--format", "hf", "--out", ".", "--overwrite"],
                 ["annotate", "export", "p", "--format", "jsonl", "--out", "catalog.db", "--overwrite"]):
        code, out = cli(*args)
        assert code == 1 and out.startswith("error: ") and "refusing" in out and out.count("\n") == 1, (args, out)
    assert _files(root) == before


def test_overwrite_replaces_its_own_output_and_refuses_other_folders(root: Path) -> None:
    assert cli("export", "web", "--out", "exports/web", "--format", "jsonl")[0] == 0
    assert (root / "exports/web" / MARKER).is_file()
    (root / "exports/web/stale.txt").write_text("left from before")
    code, out = cli("export", "web", "--out", "exports/web", "--format", "parquet", "--overwrite")
    assert code == 0, out
    assert not (root / "exports/web/stale.txt").exists() and (root / "exports/web" / MARKER).is_file()
    mine = root.parent / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    code, out = cli("export", "web", "--out", str(mine), "--format", "jsonl", "--overwrite")
    assert code == 1 and "not written by datatrainer" in out
    code, out = cli("annotate", "export", "p", "--format", "hf", "--out", str(mine), "--overwrite")
    assert code == 1 and "not written by datatrainer" in out
    assert (mine / "thesis.tex").read_text() == "years of work"
    # Annotation files: written, then replaced with --overwrite; their folders carry the marker too.
    for fmt, out_path in (("jsonl", "exports/p.jsonl"), ("hf", "exports/p-hf")):
        assert cli("annotate", "export", "p", "--format", fmt, "--out", out_path)[0] == 0
        code, out = cli("annotate", "export", "p", "--format", fmt, "--out", out_path, "--overwrite")
        assert code == 0, out
    assert (root / "exports/p-hf" / MARKER).is_file() and os.path.getsize(root / "exports/p.jsonl") > 0
