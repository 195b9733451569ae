"""The conformance suite's engine check: every registered operation gives on Ray exactly what it gives
locally (the same rows in the same order, the same artifacts), for each of its example parameter sets.
Parametrised from the registry, so a new operation gets this check by registering."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from datatrainer.engine.local import LocalEngine
from datatrainer.operations import Operation, get_operation, operation_names
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace
from tests.operations.conftest import records, source  # noqa: F401
from tests.operations.test_conformance import cases, contents, run

BATCH = 7


@pytest.fixture
def parted(sqlite_workspace: Workspace, source: DatasetVersion) -> DatasetVersion:  # noqa: F811
    """The example records stored as several parts, so that the work spreads over several Ray tasks."""
    return sqlite_workspace.apply("filter", [source], {"where": "true"}, name="parted",
                                  engine=LocalEngine(batch_size=13))


@pytest.mark.parametrize("name", operation_names())
def test_ray_output_equals_local_output(name: str, sqlite_workspace: Workspace, parted: DatasetVersion,
                                        records: Any, ray_engine: Callable[[int], Any]) -> None:  # noqa: F811
    operation: Operation[Any] = get_operation(name)
    for i, params in enumerate(cases(operation, records)):
        local = run(sqlite_workspace, operation, parted, params, LocalEngine(batch_size=BATCH), f"local-{i}")
        on_ray = run(sqlite_workspace, operation, parted, params, ray_engine(BATCH), f"ray-{i}")
        assert contents(on_ray) == contents(local), params
        assert on_ray.info.params == local.info.params
        assert _untimed(on_ray.info.stats) == _untimed(local.info.stats)


def _untimed(stats: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in stats.items() if key != "seconds"}
