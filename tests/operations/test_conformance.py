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

import numpy as np
import pyarrow as pa
import pytest

from datatrainer.engine.local import LocalEngine
from datatrainer.errors import DatatrainerError
from datatrainer.operations import Operation, get_operation, operation_names
from datatrainer.params import validate_params
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace

EngineFactory = Callable[[int], Any]
SMALL_BATCH, LARGE_BATCH = 7, 10_000

_WORDS = ("the", "river", "carried", "small", "boats", "past", "the", "old", "mill", "while", "children",
          "watched", "from", "the", "bridge", "and", "their", "parents", "talked", "about", "the", "harvest",
          "the", "market", "and", "the", "long", "winter", "that", "was", "coming")


def example_records(rows: int = 60) -> pa.Table:
    """Prose of varied length (some too short for the quality rules), with exact and near duplicates."""
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(_WORDS, 8 + (i * 13) % 90)).capitalize() + ". " + "It rained. " * (i % 4)
             for i in range(rows)]
    for i in range(0, rows, 9):  # exact duplicates of an earlier text
        texts[i] = texts[max(i - 5, 0)]
    for i in range(4, rows, 11):  # near duplicates: one word changed
        texts[i] = texts[i - 2].replace(" the ", " a ", 1)
    return pa.table({"id": [f"r{i:04d}" for i in range(rows)], "text": texts, "n": list(range(rows))})


@pytest.fixture(params=["local"])
def engine(request: pytest.FixtureRequest) -> Iterator[EngineFactory]:
    """A factory: an engine of this kind that reads batches of the given number of rows."""
    yield lambda batch_size: LocalEngine(threads=2, batch_size=batch_size)


@pytest.fixture(params=operation_names())
def operation(request: pytest.FixtureRequest) -> Operation[Any]:
    return get_operation(request.param)


@pytest.fixture
def records(tmp_path: Path) -> Path:
    path = tmp_path / "records.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in example_records().to_pylist()))
    return path


@pytest.fixture
def source(sqlite_workspace: Workspace, records: Path) -> DatasetVersion:
    return sqlite_workspace.ingest(records, "example")


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


def test_same_output_whatever_the_batch_split(sqlite_workspace: Workspace, operation: Operation[Any],
                                              source: DatasetVersion, records: Path, engine: EngineFactory) -> None:
    for i, params in enumerate(cases(operation, records)):
        small = run(sqlite_workspace, operation, source, params, engine(SMALL_BATCH), f"small-{i}")
        large = run(sqlite_workspace, operation, source, params, engine(LARGE_BATCH), f"large-{i}")
        assert contents(small) == contents(large), params
        assert small.info.params == large.info.params


def test_empty_input_works(sqlite_workspace: Workspace, operation: Operation[Any], source: DatasetVersion,
                           records: Path, engine: EngineFactory, tmp_path: Path) -> None:
    if not operation.max_inputs:  # a reader given nothing to read says so in one line
        empty_file = tmp_path / "empty.jsonl"
        empty_file.write_text("")
        for params in cases(operation, empty_file):
            with pytest.raises(DatatrainerError) as error:
                sqlite_workspace.apply(operation.name, [], params, name="empty", engine=engine(SMALL_BATCH))
            assert "\n" not in str(error.value)
        return
    empty = sqlite_workspace.apply("filter", [source], {"where": "false"}, name="empty")
    for i, params in enumerate(cases(operation, records)):
        try:
            out = run(sqlite_workspace, operation, empty, params, engine(SMALL_BATCH), f"out-{i}")
        except DatatrainerError as error:  # a parameter that cannot apply to nothing (a fixed budget) is refused
            assert "\n" not in str(error), params
            continue
        assert out.num_rows == 0 and out.schema.equals(empty.schema), params


def test_params_and_operation_pickle_and_round_trip_json(operation: Operation[Any], records: Path) -> None:
    assert type(pickle.loads(pickle.dumps(operation))) is type(operation)  # shipped to workers as is
    for params in cases(operation, records):
        parsed = validate_params(operation.params_model, params, operation.name)
        assert pickle.loads(pickle.dumps(parsed)) == parsed
        assert operation.params_model.model_validate_json(parsed.model_dump_json()) == parsed
        assert validate_params(operation.params_model, json.loads(json.dumps(params)), operation.name) == parsed


def test_schema_is_kept(sqlite_workspace: Workspace, operation: Operation[Any], source: DatasetVersion,
                        records: Path, engine: EngineFactory) -> None:
    for i, params in enumerate(cases(operation, records)):
        out = run(sqlite_workspace, operation, source, params, engine(SMALL_BATCH), f"out-{i}")
        if operation.max_inputs:
            assert out.schema.equals(source.schema), params
        else:  # a reader keeps every field of the records
            assert set(example_records().column_names) <= set(out.schema.names)


def test_dropped_rows_carry_id_and_reason(sqlite_workspace: Workspace, operation: Operation[Any],
                                          source: DatasetVersion, records: Path, engine: EngineFactory) -> None:
    if not operation.max_inputs:
        pytest.skip(f"{operation.name} reads files: it has no input rows to drop")
    source_ids = set(source.to_table(columns=["id"])["id"].to_pylist())
    for i, params in enumerate(cases(operation, records)):
        out = run(sqlite_workspace, operation, source, params, engine(SMALL_BATCH), f"out-{i}")
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


def test_deterministic_for_a_seed(sqlite_workspace: Workspace, operation: Operation[Any], source: DatasetVersion,
                                  records: Path, engine: EngineFactory) -> None:
    for i, params in enumerate(cases(operation, records)):
        first = run(sqlite_workspace, operation, source, params, engine(SMALL_BATCH), f"first-{i}")
        again = run(sqlite_workspace, operation, source, params, engine(SMALL_BATCH), f"again-{i}")
        assert contents(first) == contents(again), params
