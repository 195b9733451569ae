"""The real CLI, run as a user would (a subprocess), on a real workspace."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import datasets
import pytest

from tests.conftest import write_lines


def run(*args: str | Path, cwd: Path | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run([sys.executable, "-m", "datatrainer", "--no-progress", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, env=full_env, timeout=120)


def ok(*args: str | Path, **kwargs: object) -> str:
    result = run(*args, **kwargs)  # type: ignore[arg-type]
    assert result.returncode == 0, result.stderr
    return result.stdout


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    ok("init", root)
    return root


def test_full_cycle(ws: Path, tmp_path: Path) -> None:
    data = write_lines(tmp_path / "in.jsonl", *[json.dumps({"id": f"d{i}", "text": f"text number {i} " * (i + 1),
                                                            "meta": {"n": i}}) for i in range(10)])
    out = ok("-w", ws, "ingest", data, "--name", "web", "--source", "crawl", "--license", "CC0-1.0")
    assert "web@1" in out and "10 records" in out
    out = ok("-w", ws, "filter", "web@1", "--where", "meta.n >= 4")
    assert "web@2" in out and "kept 6 of 10" in out
    listing = ok("-w", ws, "datasets", "list")
    assert "web" in listing and "@2" in listing
    shown = json.loads(ok("-w", ws, "datasets", "show", "web@2", "--json"))
    assert shown["rows"] == 6 and shown["operation"] == "filter" and shown["parents"] == ["web@1"]
    assert [step["version"] for step in shown["lineage"]] == ["web@2", "web@1"]
    assert shown["schema"]["source"] == "string"
    assert "web@1" in ok("-w", ws, "datasets", "show", "web")
    diff = ok("-w", ws, "datasets", "diff", "web@1", "web@2")
    assert "+0 added" in diff and "-4 removed" in diff and "d0, d1, d2, d3" in diff
    head = ok("-w", ws, "datasets", "head", "web@2", "-n", "2")
    assert "│ d4 " in head and "│ d5 " in head and "│ d6 " not in head
    ok("-w", ws, "export", "web@2", "--format", "hf", "--out", tmp_path / "hf")
    loaded = datasets.load_from_disk(str(tmp_path / "hf"))
    assert loaded["id"] == [f"d{i}" for i in range(4, 10)]
    assert "lineage" in (tmp_path / "hf" / "README.md").read_text().lower()


def test_workspace_from_environment(ws: Path, tmp_path: Path) -> None:
    data = write_lines(tmp_path / "in.jsonl", '{"text": "hello"}')
    ok("ingest", data, "--name", "envtest", env={"DATATRAINER_WORKSPACE": str(ws)})
    assert "envtest" in ok("-w", ws, "datasets", "list")


@pytest.mark.parametrize(("args", "expected"), [
    (("ingest", "/no/such/file.jsonl", "--name", "x"), "/no/such/file.jsonl: no such file or folder"),
    (("datasets", "show", "nope@1"), "no dataset named 'nope'"),
    (("export", "nope", "--out", "o"), "no dataset named 'nope'"),
    (("ingest", "x.jsonl", "--name", "x", "--on-error", "sometimes"), "on-error"),
])
def test_errors_are_one_line(ws: Path, args: tuple[str, ...], expected: str) -> None:
    line = one_line_error(run("-w", ws, *args))
    assert expected in line


def test_bad_record_error_names_file_and_line(ws: Path, tmp_path: Path) -> None:
    data = write_lines(tmp_path / "bad.jsonl", '{"text": "fine"}', '{"text": "broken"', '{"text": "fine too"}')
    line = one_line_error(run("-w", ws, "ingest", data, "--name", "bad"))
    assert f"{data}:2:" in line and "invalid JSON" in line
    out = ok("-w", ws, "ingest", data, "--name", "bad", "--on-error", "skip")
    assert "2 records" in out and "skipped 1" in out


def test_not_a_workspace(tmp_path: Path) -> None:
    line = one_line_error(run("-w", tmp_path / "nowhere", "datasets", "list"))
    assert "is not a datatrainer workspace" in line


def test_version_and_operations() -> None:
    assert ok("--version").startswith("datatrainer ")
    listing = ok("operations")
    assert "filter" in listing and "ingest" in listing


def test_bad_option_values_are_usage_errors_not_tracebacks(ws: Path) -> None:
    result = run("-w", ws, "datasets", "head", "x", "-n", "abc")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "Invalid value for '-n'" in result.stderr
    missing = run("-w", ws, "ingest")
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
