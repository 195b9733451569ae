"""`datatrainer users|annotate|audit` run as a user would (subprocesses) on a real SQLite workspace."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from datatrainer.workspace import Workspace
from tests.annotation.core_fixtures import span
from tests.cli.test_cli import one_line_error

pytestmark = pytest.mark.slow  # about 16 CLI processes


def run(*args: str | Path, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Like tests.cli.test_cli.run, with text on stdin (for --password-stdin)."""
    return subprocess.run([sys.executable, "-m", "datatrainer", "--no-progress", *map(str, args)], input=input,
                          capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"}, timeout=120)


def ok(*args: str | Path, input: str | None = None) -> str:
    result = run(*args, input=input)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_annotation_cli_story(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ok("init", ws)
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"id": f"r{i}", "text": f"Grace Hopper visited Boston {i}"}) + "\n"
                            for i in range(3)))
    ok("-w", ws, "ingest", data, "--name", "docs")
    guidelines = tmp_path / "guide.md"
    guidelines.write_text("Mark people as PER.")

    assert "created" in ok("-w", ws, "users", "add", "ada", "--password-stdin", input="a long password\n")
    assert "already exists" in one_line_error(run("-w", ws, "users", "add", "ada", "--password-stdin",
                                                  input="a long password\n"))
    assert "at least 8" in one_line_error(run("-w", ws, "users", "add", "bob", "--password-stdin", input="short\n"))
    out = ok("-w", ws, "annotate", "create", "people", "--from", "docs@1", "--task", "ner", "--labels", "PER,LOC",
             "--guidelines", guidelines)
    assert "3 tasks" in out
    error = one_line_error(run("-w", ws, "annotate", "create", "x", "--from", "docs@1", "--task", "preference"))
    assert "no column 'prompt'" in error and "--field prompt=COLUMN" in error
    error = one_line_error(run("-w", ws, "annotate", "create", "y", "--from", "docs@1", "--task", "ner", "--labels",
                               "PER", "--overlap", "0"))
    assert error == "error: project 'y': overlap: Input should be greater than or equal to 1"
    ok("-w", ws, "annotate", "add-member", "people", "ada", "--role", "annotator")
    assert "not one of" not in ok("-w", ws, "annotate", "list")

    with Workspace.open(ws) as workspace:  # annotate through the Python API, as the server would
        ada = workspace.annotation.authenticate("ada", "a long password")
        assert ada is not None
        task = workspace.annotation.next_task(ada, "people")
        assert task is not None and workspace.annotation.get_project(ada, "people").guidelines.startswith("Mark")
        workspace.annotation.submit(ada, task.id, {"spans": [span(0, 12, "PER")]})

    status = json.loads(ok("-w", ws, "annotate", "status", "people", "--json"))
    assert status["by_state"]["annotated"] == 1 and status["per_annotator"]["ada"]["submitted"] == 1
    assert "people-gold@1 (1 records)" in ok("-w", ws, "annotate", "export", "people", "--name", "people-gold")
    out_file = tmp_path / "ls.json"
    assert "wrote 1 docs with 1 spans" in ok("-w", ws, "annotate", "export", "people", "--format", "label-studio",
                                             "--out", out_file, "--per-annotator")
    assert "either --name" in one_line_error(run("-w", ws, "annotate", "export", "people"))
    assert "imported 1 suggestions" in ok("-w", ws, "annotate", "import", "people", out_file)
    token = ok("-w", ws, "users", "token", "ada", "--name", "laptop").strip()
    assert token.startswith("dt_")

    assert "intact" in ok("-w", ws, "audit", "verify")
    db = sqlite3.connect(ws / "catalog.db")
    db.execute("DROP TRIGGER audit_log_no_update")
    db.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3")
    db.commit()
    db.close()
    assert one_line_error(run("-w", ws, "audit", "verify")) == \
        "error: audit log broken at entry 3: entry 3 was altered (keyed hash mismatch)"
