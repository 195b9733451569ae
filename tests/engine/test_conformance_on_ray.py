"""The conformance suite (tests/operations/test_conformance.py) on the Ray engine: every check that runs an
operation, for every registered operation, with the engine the session's Ray instance. Kept here rather than
as a parameter of that suite's `engine` fixture so that it runs with the other Ray tests (one Ray instance
per test process, and one xdist group)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from datatrainer.operations import Operation, get_operation, operation_names
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace
from tests.operations.conftest import records, source  # noqa: F401
from tests.operations.test_conformance import (
    check_batch_split,
    check_deterministic,
    check_dropped_rows,
    check_empty_input,
    check_schema_kept,
)

CHECKS = {"batch-split": check_batch_split, "schema-kept": check_schema_kept, "dropped-rows": check_dropped_rows,
          "deterministic": check_deterministic}


@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize("name", operation_names())
def test_conformance_on_ray(name: str, check: str, sqlite_workspace: Workspace, source: DatasetVersion,  # noqa: F811
                            records: Path, ray_engine: Callable[[int], Any]) -> None:  # noqa: F811
    operation: Operation[Any] = get_operation(name)
    CHECKS[check](sqlite_workspace, operation, source, records, ray_engine)


@pytest.mark.parametrize("name", operation_names())
def test_empty_input_on_ray(name: str, sqlite_workspace: Workspace, source: DatasetVersion,  # noqa: F811
                            records: Path, ray_engine: Callable[[int], Any], tmp_path: Path) -> None:  # noqa: F811
    check_empty_input(sqlite_workspace, get_operation(name), source, records, ray_engine, tmp_path)
