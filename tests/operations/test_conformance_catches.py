"""The conformance checks fail for operations that break their contract: each broken operation below is
caught by the check written for its fault (and the suite would be worthless if it were not)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from pydantic import BaseModel

from datatrainer.engine.local import LocalEngine
from datatrainer.operations import BatchOperation, Filtered, Operation, registry
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace
from tests.operations.test_conformance import (
    EngineFactory,
    check_batch_split,
    check_deterministic,
    check_dropped_rows,
    check_schema_kept,
)


class _NoParams(BaseModel):
    pass


def _drop(batch: pa.RecordBatch, keep: np.ndarray) -> Filtered:
    table = pa.Table.from_batches([batch])
    gone = table.filter(pa.array(~keep)).select(["id"])
    return Filtered(table.filter(pa.array(keep)),
                    gone.append_column("reason", pa.repeat(pa.scalar("probe"), gone.num_rows)))


class _FirstOfEachBatch(BatchOperation[_NoParams]):
    """Keeps the first row of every batch: its output depends on how the input is split."""

    name = "probe-first-of-batch"
    params_model = _NoParams

    def transform(self, batch: pa.RecordBatch, params: _NoParams) -> Filtered:
        return _drop(batch, np.arange(batch.num_rows) == 0)


class _SilentDrop(BatchOperation[_NoParams]):
    """Drops odd rows without saying so."""

    name = "probe-silent-drop"
    params_model = _NoParams

    def transform(self, batch: pa.RecordBatch, params: _NoParams) -> pa.Table:
        return pa.Table.from_batches([batch]).filter(pa.compute.equal(pa.compute.bit_wise_and(batch["n"], 1), 0))


class _Unseeded(BatchOperation[_NoParams]):
    """Keeps a random half with an unseeded generator."""

    name = "probe-unseeded"
    params_model = _NoParams

    def transform(self, batch: pa.RecordBatch, params: _NoParams) -> Filtered:
        return _drop(batch, np.random.default_rng().random(batch.num_rows) < 0.5)


class _DropsAColumn(BatchOperation[_NoParams]):
    """Loses the `n` column."""

    name = "probe-drops-column"
    params_model = _NoParams

    def transform(self, batch: pa.RecordBatch, params: _NoParams) -> pa.Table:
        return pa.Table.from_batches([batch]).drop_columns(["n"])


Check = Callable[[Workspace, Operation[Any], DatasetVersion, Path, EngineFactory], None]


@pytest.mark.parametrize(("operation", "check"), [
    (_FirstOfEachBatch(), check_batch_split),
    (_SilentDrop(), check_dropped_rows),
    (_Unseeded(), check_deterministic),
    (_DropsAColumn(), check_schema_kept),
], ids=["batch-split", "dropped", "determinism", "schema"])
def test_each_check_catches_its_fault(sqlite_workspace: Workspace, source: DatasetVersion, records: Path,
                                      operation: Operation[Any], check: Check,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # Registered for this test only, so that no other test (nor the suite's parametrisation) sees it.
    monkeypatch.setitem(registry._REGISTERED, operation.name, operation)
    with pytest.raises(AssertionError):
        check(sqlite_workspace, operation, source, records, lambda rows: LocalEngine(threads=2, batch_size=rows))
