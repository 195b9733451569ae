"""`datatrainer pii scan|redact` in process: output, and one-line errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from datatrainer.cli.app import app
from datatrainer.errors import DatatrainerError
from datatrainer.workspace import Workspace
from tests.conftest import write_lines

STRUCTURED = "email,phone,credit_card,iban,ip,national_id"


@pytest.fixture
def root(sqlite_workspace: Workspace, tmp_path: Path) -> str:
    path = write_lines(tmp_path / "in.jsonl",
                       json.dumps({"id": "a", "text": "Mail ops@example.com or call (212) 555-0187."}),
                       json.dumps({"id": "b", "text": "Build 3.10.12 shipped."}))
    sqlite_workspace.ingest(path, "web")
    return str(sqlite_workspace.root)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, ["--no-progress", *args], env={"COLUMNS": "200"})


def test_scan_prints_counts_and_masked_worst_records(root: str) -> None:
    result = invoke("-w", root, "pii", "scan", "web@1", "--types", STRUCTURED)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "1 of 2 records (50.0%)" in out and "[EMAIL]" in out and "ops@example.com" not in out
    as_json = invoke("-w", root, "pii", "scan", "web@1", "--types", STRUCTURED, "--json")
    data = json.loads(as_json.output)
    assert data["findings"] == {"email": 1, "phone": 1} and data["worst"][0]["id"] == "a"


def test_redact_writes_a_version(root: str) -> None:
    result = invoke("-w", root, "pii", "redact", "web@1", "--mode", "drop", "--types", "email")
    assert result.exit_code == 0 and "web@2" in result.output and "dropped 1" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["scan", "web@1", "--fields", "nope"], "no field 'nope' to scan"),
    (["scan", "web@1", "--types", "email,face"], "pii scan: types.1: Input should be"),
    (["scan", "web@1", "--id-pattern", "broken"], "--id-pattern 'broken': write it as NAME=REGEX"),
    (["scan", "web@1", "--id-pattern", "x=(unclosed"], "is not a valid regular expression"),
    (["scan", "web@1", "--regions", "XX"], "unknown phone region(s) XX"),
    (["scan", "missing@1"], "no dataset named 'missing'"),
    (["redact", "web@1", "--mode", "zap"], "operation 'pii-redact': mode: Input should be"),
])
def test_bad_input_is_one_line(root: str, args: list[str], message: str) -> None:
    result = invoke("-w", root, "pii", *args)
    error = result.exception
    assert isinstance(error, DatatrainerError), result.output
    assert message in str(error) and "\n" not in str(error)
