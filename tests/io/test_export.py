"""Exports load in the tools that read them, with the same records, and carry a dataset card."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datatrainer.errors import DatatrainerError
from datatrainer.workspace import Workspace

ROWS = [
    {"id": "a", "text": "first text", "meta": {"lang": "en", "score": 1}, "tags": ["x", "y"],
     "collected_at": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)},
    {"id": "b", "text": "second \"quoted\"\nline", "meta": {"lang": None, "score": 2}, "tags": [],
     "collected_at": None},
    {"id": "c", "text": "ünïcödé 🚀", "meta": None, "tags": None, "collected_at": datetime(2020, 5, 6, tzinfo=UTC)},
]


@pytest.fixture
def version_ref(workspace: Workspace) -> str:
    table = pa.Table.from_pylist(ROWS, schema=pa.schema([
        ("id", pa.string()), ("text", pa.string()),
        ("meta", pa.struct([("lang", pa.string()), ("score", pa.int64())])),
        ("tags", pa.list_(pa.string())), ("collected_at", pa.timestamp("us", tz="UTC")),
    ]))
    with workspace.datasets.new_version() as writer:
        writer.write_part(0, table.slice(0, 2))
        writer.write_part(1, table.slice(2))
        first = writer.commit(dataset="corpus", operation="ingest", params={"license": "CC-BY-4.0"})
    return workspace.apply("filter", [first.ref], {"where": "id <> 'zzz'"}).ref


def test_hf_export_loads_with_load_from_disk(workspace: Workspace, version_ref: str, tmp_path: Path) -> None:
    out = workspace.export(version_ref, tmp_path / "hf", "hf")
    loaded = datasets.load_from_disk(str(out))
    assert loaded.num_rows == 3
    assert loaded["id"] == ["a", "b", "c"]
    assert loaded["text"] == [row["text"] for row in ROWS]
    assert loaded[0]["meta"] == {"lang": "en", "score": 1}
    assert loaded[0]["tags"] == ["x", "y"]
    assert loaded.data.table.schema.field("collected_at").type == pa.timestamp("us", tz="UTC")
    card = (out / "README.md").read_text()
    assert "corpus@2" in card and "corpus@1" in card  # lineage back to the ingest
    assert "| `corpus@2` | 3 | `filter` | corpus@1 |" in card
    assert 'license: "CC-BY-4.0"' in card


def test_jsonl_export_round_trips(workspace: Workspace, version_ref: str, tmp_path: Path) -> None:
    out = workspace.export(version_ref, tmp_path / "jsonl", "jsonl")
    records = [json.loads(line) for line in (out / "data.jsonl").read_text().splitlines()]
    assert [r["id"] for r in records] == ["a", "b", "c"]
    assert [r["text"] for r in records] == [row["text"] for row in ROWS]
    assert records[0]["meta"] == {"lang": "en", "score": 1}
    assert datetime.fromisoformat(records[0]["collected_at"]) == ROWS[0]["collected_at"]
    assert records[1]["collected_at"] is None
    assert (out / "README.md").is_file()


def test_parquet_export_round_trips(workspace: Workspace, version_ref: str, tmp_path: Path) -> None:
    out = workspace.export(version_ref, tmp_path / "pq", "parquet")
    table = pq.read_table(out / "data", schema=workspace.version(version_ref).schema)
    assert table.to_pylist() == workspace.version(version_ref).to_table().to_pylist()
    assert table.to_pylist()[0]["collected_at"] == ROWS[0]["collected_at"]


def test_existing_output_is_not_overwritten_without_consent(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    with sqlite_workspace.datasets.new_version() as writer:
        writer.write_part(0, pa.table({"id": ["a"], "text": ["x"]}))
        ref = writer.commit(dataset="d", operation="test", params={}).ref
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    with pytest.raises(DatatrainerError, match="already exists"):
        sqlite_workspace.export(ref, out, "jsonl")
    assert (out / "keep.txt").read_text() == "precious"
    with pytest.raises(DatatrainerError, match="not written by datatrainer"):  # not ours to replace
        sqlite_workspace.export(ref, out, "jsonl", overwrite=True)
    assert (out / "keep.txt").read_text() == "precious"
    (out / "keep.txt").unlink()
    sqlite_workspace.export(ref, out, "jsonl")
    (out / "stale.txt").write_text("from an earlier run")
    sqlite_workspace.export(ref, out, "jsonl", overwrite=True)
    assert not (out / "stale.txt").exists() and (out / "data.jsonl").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "ws"]  # no staging folders left behind


def test_unknown_format_is_refused(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    with sqlite_workspace.datasets.new_version() as writer:
        writer.write_part(0, pa.table({"id": ["a"], "text": ["x"]}))
        ref = writer.commit(dataset="d", operation="test", params={}).ref
    with pytest.raises(DatatrainerError, match="unknown export format 'xml'"):
        sqlite_workspace.export(ref, tmp_path / "o", "xml")
    assert not (tmp_path / "o").exists()
