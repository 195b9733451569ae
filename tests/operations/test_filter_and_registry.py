"""The operation registry, the `filter` operation and the local engine."""

from __future__ import annotations

import pyarrow as pa
import pytest
from pydantic import BaseModel

from datatrainer.engine.local import LocalEngine
from datatrainer.errors import DatatrainerError
from datatrainer.operations import BatchOperation, get_operation, operation_names, register
from datatrainer.workspace import Workspace


def _source(ws: Workspace, rows: int = 1000) -> str:
    ids = [f"r{i:05d}" for i in range(rows)]
    texts = ["word " * (i % 37) for i in range(rows)]
    with ws.datasets.new_version() as writer:
        for start in range(0, rows, 128):  # several parts, so the engine streams several batches
            writer.write_part(start, pa.table({"id": ids[start:start + 128], "text": texts[start:start + 128],
                                               "n": list(range(start, min(rows, start + 128)))}))
        return writer.commit(dataset="src", operation="test", params={}).ref


def test_builtins_are_registered() -> None:
    assert {"ingest", "filter"} <= set(operation_names())
    with pytest.raises(DatatrainerError, match="unknown operation 'nope'"):
        get_operation("nope")


def test_filter_matches_a_python_reference_and_records_lineage(workspace: Workspace) -> None:
    ref = _source(workspace)
    source = workspace.version(ref)
    out = workspace.apply("filter", [source], {"where": "n % 3 = 0 AND length(text) > 20"}, name="kept",
                          engine=LocalEngine(batch_size=100))
    expected = [row["id"] for row in source.to_table().to_pylist() if row["n"] % 3 == 0 and len(row["text"]) > 20]
    assert out.to_table().column("id").to_pylist() == expected
    assert out.schema.equals(source.schema)
    assert out.info.operation == "filter"
    assert out.info.parents == (ref,)
    assert out.info.params == {"where": "n % 3 = 0 AND length(text) > 20"}
    assert out.ref == "kept@1"


def test_filter_default_output_is_a_new_version_of_the_input(sqlite_workspace: Workspace) -> None:
    ref = _source(sqlite_workspace, 50)
    out = sqlite_workspace.apply("filter", [ref], {"where": "false"})
    assert out.ref == "src@2"
    assert out.num_rows == 0
    assert out.to_table().schema.equals(sqlite_workspace.version(ref).schema)


@pytest.mark.parametrize(("params", "message"), [
    ({"where": "no_such_column > 1"}, "invalid filter expression"),
    ({"where": ""}, "where"),
    ({}, "where"),
])
def test_bad_parameters_fail_before_any_work(sqlite_workspace: Workspace, params: dict[str, str], message: str) -> None:
    ref = _source(sqlite_workspace, 10)
    with pytest.raises(DatatrainerError, match=message) as info:
        sqlite_workspace.apply("filter", [ref], params)
    assert "\n" not in str(info.value)
    assert [v.ref for v in sqlite_workspace.datasets.versions("src")] == ["src@1"]


def test_wrong_number_of_inputs_is_refused(sqlite_workspace: Workspace) -> None:
    ref = _source(sqlite_workspace, 10)
    with pytest.raises(DatatrainerError, match=r"takes 1\.\.1 input"):
        sqlite_workspace.apply("filter", [ref, ref], {"where": "true"})


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_engine_keeps_order_whatever_the_threads(sqlite_workspace: Workspace, threads: int) -> None:
    version = sqlite_workspace.version(_source(sqlite_workspace, 1000))
    engine = LocalEngine(threads=threads, batch_size=64)
    results = list(engine.map_batches(lambda batch: batch.column("n").to_pylist(), version, columns=["n"]))
    assert [n for chunk in results for n in chunk] == list(range(1000))
    assert max(len(chunk) for chunk in results) <= 64


class _UpperParams(BaseModel):
    column: str = "text"


def test_a_new_batch_operation_plugs_into_the_registry(sqlite_workspace: Workspace) -> None:
    @register
    class Upper(BatchOperation[_UpperParams]):
        name = "test-upper"
        params_model = _UpperParams

        def transform(self, batch: pa.RecordBatch, params: _UpperParams) -> pa.Table:
            table = pa.Table.from_batches([batch])
            index = table.schema.get_field_index(params.column)
            return table.set_column(index, params.column, pa.compute.utf8_upper(table[params.column]))

    ref = _source(sqlite_workspace, 20)
    out = sqlite_workspace.apply("test-upper", [ref], {})
    assert out.to_table().column("text").to_pylist() == [t.upper() for t in
                                                          sqlite_workspace.version(ref).to_table()["text"].to_pylist()]
    with pytest.raises(ValueError, match="registered twice"):
        register(Upper)


def test_filter_keeps_the_dropped_ids_with_the_reason(sqlite_workspace: Workspace) -> None:
    ref = _source(sqlite_workspace, 300)
    out = sqlite_workspace.apply("filter", [ref], {"where": "n >= 100"})
    dropped = out.artifact("dropped")
    assert dropped.column("id").to_pylist() == [f"r{i:05d}" for i in range(100)]
    assert set(dropped.column("reason").to_pylist()) == {"filter: n >= 100"}
    assert out.info.stats == {"dropped": 100, "dropped_by_reason": {"filter: n >= 100": 100}}
