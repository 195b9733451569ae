"""Fixtures of the operation tests: the example records as a JSONL file and as the version `example@1`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace
from tests.operations.examples import example_records


@pytest.fixture
def records(tmp_path: Path) -> Path:
    path = tmp_path / "records.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in example_records().to_pylist()))
    return path


@pytest.fixture
def source(sqlite_workspace: Workspace, records: Path) -> DatasetVersion:
    return sqlite_workspace.ingest(records, "example")
