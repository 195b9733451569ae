"""The conformance suite every registered operation passes (as scikit-learn's `check_estimator`).

Parametrised from the registry, so an operation gets these checks by registering; each runs with the
parameter sets its `example_params` gives, on a small version of example records (`example@1`; ingest gets
them as a JSONL file). The checks: the output is the same whatever the batch split, an empty input works,
parameters (and the operation itself) pickle and round-trip through JSON, the schema is kept, dropped rows
carry `id` and `reason` and account for every missing row, and a run is deterministic for its seed.

The `engine` fixture makes the engines the checks run on: another engine joins the suite by adding a
parameter to it.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from datatrainer.engine.local import LocalEngine
from datatrainer.errors import DatatrainerError
from datatrainer.operations import Operation, get_operation, operation_names
from datatrainer.params import validate_params
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace
from tests.operations.examples import example_records

EngineFactory = Callable[[int], Any]
SMALL_BATCH, LARGE_BATCH = 7, 10_000

@pytest.fixture(params=["local"])
def engine(request: pytest.FixtureRequest) -> Iterator[EngineFactory]:
    """A factory: an engine of this kind that reads batches of the given number of rows."""
    yield lambda batch_size: LocalEngine(threads=2, batch_size=batch_size)


@pytest.fixture(params=operation_names())
def operation(request: pytest.FixtureRequest) -> Operation[Any]:
    return get_operation(request.param)


def run(ws: Workspace, operation: Operation[Any], source: DatasetVersion, params: dict[str, Any],
        engine: Any, name: str) -> DatasetVersion:
    inputs = [source] if operation.max_inputs else []
    return ws.apply(operation.name, inputs, params, name=name, engine=engine)


def contents(version: DatasetVersion) -> dict[str, pa.Table]:
    """The rows and every artifact (what a user can read back), for comparing runs."""
    return {"rows": version.to_table(), **{name: version.artifact(name) for name in version.artifact_names()}}


def cases(operation: Operation[Any], records: Path) -> list[dict[str, Any]]:
    examples = operation.example_params(records)
    assert examples, f"{operation.name}: example_params gives no parameters to check"
    return examples


def check_batch_split(ws: Workspace, operation: Operation[Any], source: DatasetVersion, records: Path,
                      engine: EngineFactory) -> None:
    for i, params in enumerate(cases(operation, records)):
        small = run(ws, operation, source, params, engine(SMALL_BATCH), f"small-{i}")
        large = run(ws, operation, source, params, engine(LARGE_BATCH), f"large-{i}")
        assert contents(small) == contents(large), params
        assert small.info.params == large.info.params


def check_empty_input(ws: Workspace, operation: Operation[Any], source: DatasetVersion, records: Path,
                      engine: EngineFactory, tmp_path: Path) -> None:
    if not operation.max_inputs:  # a reader given nothing to read says so in one line
        empty_file = tmp_path / "empty.jsonl"
        empty_file.write_text("")
        for params in cases(operation, empty_file):
            with pytest.raises(DatatrainerError) as error:
                ws.apply(operation.name, [], params, name="empty", engine=engine(SMALL_BATCH))
            assert "\n" not in str(error.value)
        return
    empty = ws.apply("filter", [source], {"where": "false"}, name="empty")
    for i, params in enumerate(cases(operation, records)):
        try:
            out = run(ws, operation, empty, params, engine(SMALL_BATCH), f"out-{i}")
        except DatatrainerError as error:  # a parameter that cannot apply to nothing (a fixed budget) is refused
            assert "\n" not in str(error), params
            continue
        assert out.num_rows == 0 and out.schema.equals(empty.schema), params


def check_pickle_and_json(operation: Operation[Any], records: Path) -> None:
    assert type(pickle.loads(pickle.dumps(operation))) is type(operation)  # shipped to workers as is
    for params in cases(operation, records):
        parsed = validate_params(operation.params_model, params, operation.name)
        assert pickle.loads(pickle.dumps(parsed)) == parsed
        assert operation.params_model.model_validate_json(parsed.model_dump_json()) == parsed
        assert validate_params(operation.params_model, json.loads(json.dumps(params)), operation.name) == parsed


def check_schema_kept(ws: Workspace, operation: Operation[Any], source: DatasetVersion, records: Path,
                      engine: EngineFactory) -> None:
    for i, params in enumerate(cases(operation, records)):
        out = run(ws, operation, source, params, engine(SMALL_BATCH), f"out-{i}")
        if operation.max_inputs:
            assert out.schema.equals(source.schema), params
        else:  # a reader keeps every field of the records
            assert set(example_records().column_names) <= set(out.schema.names)


def check_dropped_rows(ws: Workspace, operation: Operation[Any], source: DatasetVersion, records: Path,
                       engine: EngineFactory) -> None:
    if not operation.max_inputs:
        return  # a reader has no input rows to drop
    source_ids = set(source.to_table(columns=["id"])["id"].to_pylist())
    for i, params in enumerate(cases(operation, records)):
        out = run(ws, operation, source, params, engine(SMALL_BATCH), f"out-{i}")
        kept = out.to_table(columns=["id"])["id"].to_pylist()
        missing = source_ids - set(kept)
        if "dropped" not in out.artifact_names():
            assert not missing, f"{operation.name} dropped rows without a `dropped` artifact"
            continue
        dropped = out.artifact("dropped")
        assert {"id", "reason"} <= set(dropped.column_names)
        assert pa.types.is_string(dropped.schema.field("reason").type)
        assert dropped["reason"].null_count == 0 and all(dropped["reason"].to_pylist())
        dropped_ids = dropped["id"].to_pylist()
        assert len(set(dropped_ids)) == len(dropped_ids)
        assert set(dropped_ids) == missing, params  # every missing row is accounted for, and only those


def check_deterministic(ws: Workspace, operation: Operation[Any], source: DatasetVersion, records: Path,
                        engine: EngineFactory) -> None:
    for i, params in enumerate(cases(operation, records)):
        first = run(ws, operation, source, params, engine(SMALL_BATCH), f"first-{i}")
        again = run(ws, operation, source, params, engine(SMALL_BATCH), f"again-{i}")
        assert contents(first) == contents(again), params



# The suite: every check, on every registered operation, on every engine of the `engine` fixture.

def test_same_output_whatever_the_batch_split(sqlite_workspace: Workspace, operation: Operation[Any],
                                              source: DatasetVersion, records: Path, engine: EngineFactory) -> None:
    check_batch_split(sqlite_workspace, operation, source, records, engine)


def test_empty_input_works(sqlite_workspace: Workspace, operation: Operation[Any], source: DatasetVersion,
                           records: Path, engine: EngineFactory, tmp_path: Path) -> None:
    check_empty_input(sqlite_workspace, operation, source, records, engine, tmp_path)


def test_params_and_operation_pickle_and_round_trip_json(operation: Operation[Any], records: Path) -> None:
    check_pickle_and_json(operation, records)


def test_schema_is_kept(sqlite_workspace: Workspace, operation: Operation[Any], source: DatasetVersion,
                        records: Path, engine: EngineFactory) -> None:
    check_schema_kept(sqlite_workspace, operation, source, records, engine)


def test_dropped_rows_carry_id_and_reason(sqlite_workspace: Workspace, operation: Operation[Any],
                                          source: DatasetVersion, records: Path, engine: EngineFactory) -> None:
    check_dropped_rows(sqlite_workspace, operation, source, records, engine)


def test_deterministic_for_a_seed(sqlite_workspace: Workspace, operation: Operation[Any], source: DatasetVersion,
                                  records: Path, engine: EngineFactory) -> None:
    check_deterministic(sqlite_workspace, operation, source, records, engine)
