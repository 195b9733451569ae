"""Version writing and reading: atomic publication, schema reconciliation, diffs."""

from __future__ import annotations

import os

import pyarrow as pa
import pytest

from datatrainer.errors import NotFoundError
from datatrainer.store.schema import conform_batch
from datatrainer.workspace import Workspace


def _publish(ws: Workspace, name: str, *tables: pa.Table) -> str:
    with ws.datasets.new_version() as writer:
        for sequence, table in enumerate(tables):
            writer.write_part(sequence, table)
        return writer.commit(dataset=name, operation="test", params={}).ref


def test_parts_with_narrower_schemas_read_back_as_one_schema(workspace: Workspace) -> None:
    early = pa.table({"id": ["a"], "text": ["x"], "score": pa.array([None], pa.null())})
    later = pa.table({"id": ["b", "c"], "text": ["y", "z"], "score": [1, 2], "lang": ["en", "fr"]})
    last = pa.table({"id": ["d"], "text": ["w"], "score": [2.5]})
    ref = _publish(workspace, "evolving", early, later, last)
    version = workspace.version(ref)
    assert version.schema.field("score").type == pa.float64()
    assert version.schema.field("lang").type == pa.string()
    table = version.to_table()
    assert table.column("id").to_pylist() == ["a", "b", "c", "d"]
    assert table.column("score").to_pylist() == [None, 1.0, 2.0, 2.5]
    assert table.column("lang").to_pylist() == [None, "en", "fr", None]
    assert version.head(2).column("id").to_pylist() == ["a", "b"]
    assert version.to_table(["text"]).column_names == ["text"]


def test_parts_written_out_of_order_read_in_sequence_order(sqlite_workspace: Workspace) -> None:
    with sqlite_workspace.datasets.new_version() as writer:
        writer.write_part(2, pa.table({"id": ["c"], "text": ["3"]}))
        writer.write_part(0, pa.table({"id": ["a"], "text": ["1"]}))
        writer.write_part(1, pa.table({"id": ["b"], "text": ["2"]}))
        ref = writer.commit(dataset="ordered", operation="test", params={}).ref
    assert sqlite_workspace.version(ref).to_table().column("id").to_pylist() == ["a", "b", "c"]


def test_aborted_writer_publishes_nothing_and_cleans_up(workspace: Workspace) -> None:
    with pytest.raises(RuntimeError), workspace.datasets.new_version() as writer:
        writer.write_part(0, pa.table({"id": ["a"], "text": ["x"]}))
        raise RuntimeError("crash before commit")
    assert workspace.datasets.names() == []
    assert os.listdir(workspace.root / "tmp") == []
    assert os.listdir(workspace.root / "versions") == []


def test_failed_catalog_commit_removes_the_published_folder(sqlite_workspace: Workspace) -> None:
    with pytest.raises(Exception, match="invalid dataset name"), sqlite_workspace.datasets.new_version() as writer:
        writer.write_part(0, pa.table({"id": ["a"], "text": ["x"]}))
        writer.commit(dataset="bad name", operation="test", params={})
    assert os.listdir(sqlite_workspace.root / "versions") == []


def test_empty_version_keeps_its_schema(sqlite_workspace: Workspace) -> None:
    schema = pa.schema([("id", pa.string()), ("text", pa.string()), ("n", pa.int32())])
    with sqlite_workspace.datasets.new_version() as writer:
        writer.write_part(0, schema.empty_table())
        ref = writer.commit(dataset="empty", operation="test", params={}).ref
    version = sqlite_workspace.version(ref)
    assert version.num_rows == 0
    assert version.to_table().schema.equals(schema)
    assert sqlite_workspace.datasets.diff(ref, ref).kept_count == 0


def test_diff_matches_set_arithmetic(workspace: Workspace) -> None:
    old_ids = [f"r{i}" for i in range(0, 300)]
    new_ids = [f"r{i}" for i in range(100, 450)]
    old = _publish(workspace, "d", pa.table({"id": old_ids, "text": old_ids}))
    new = _publish(workspace, "d", pa.table({"id": new_ids, "text": new_ids}))
    diff = workspace.datasets.diff(old, new, limit=1000)
    assert set(diff.added) == set(new_ids) - set(old_ids)
    assert set(diff.removed) == set(old_ids) - set(new_ids)
    assert diff.added_count == 150 and diff.removed_count == 100 and diff.kept_count == 200
    limited = workspace.datasets.diff(old, new, limit=5)
    assert limited.added == sorted(set(new_ids) - set(old_ids))[:5]


def test_collect_garbage_removes_only_unreferenced_folders(sqlite_workspace: Workspace) -> None:
    ref = _publish(sqlite_workspace, "keep", pa.table({"id": ["a"], "text": ["x"]}))
    (sqlite_workspace.root / "tmp" / "stale").mkdir()
    (sqlite_workspace.root / "tmp" / "shard-killed.parquet").write_bytes(b"PAR1")  # a shard write cut short
    (sqlite_workspace.root / "versions" / "orphan").mkdir()
    removed = {path.name for path in sqlite_workspace.collect_garbage(min_age=0)}
    assert removed == {"stale", "shard-killed.parquet", "orphan"}
    assert not any((sqlite_workspace.root / "tmp").iterdir())
    assert sqlite_workspace.version(ref).to_table().num_rows == 1


def test_collect_garbage_spares_recent_folders(sqlite_workspace: Workspace) -> None:
    (sqlite_workspace.root / "tmp" / "in-progress").mkdir()
    assert sqlite_workspace.collect_garbage() == []  # default: only leftovers older than an hour
    assert (sqlite_workspace.root / "tmp" / "in-progress").is_dir()


def test_part_files_sort_by_number_not_by_name(sqlite_workspace: Workspace) -> None:
    with sqlite_workspace.datasets.new_version() as writer:
        writer.write_part(999_999, pa.table({"id": ["a"], "text": ["1"]}))
        writer.write_part(1_000_000, pa.table({"id": ["b"], "text": ["2"]}))
        ref = writer.commit(dataset="many-parts", operation="test", params={}).ref
    assert sqlite_workspace.version(ref).to_table().column("id").to_pylist() == ["a", "b"]


def test_conform_batch_adds_reorders_and_widens() -> None:
    batch = pa.record_batch({"b": [1, 2], "a": ["x", "y"]})
    target = pa.schema([("a", pa.string()), ("b", pa.float64()), ("c", pa.bool_())])
    out = conform_batch(batch, target)
    assert out.schema.equals(target)
    assert out.to_pydict() == {"a": ["x", "y"], "b": [1.0, 2.0], "c": [None, None]}


def test_artifacts_are_published_with_the_version(workspace: Workspace) -> None:
    dropped = pa.table({"id": ["b"], "reason": ["too short"]})
    with workspace.datasets.new_version() as writer:
        writer.write_part(0, pa.table({"id": ["a"], "text": ["x"]}))
        writer.write_artifact("dropped", dropped)
        ref = writer.commit(dataset="with-artifacts", operation="test", params={}).ref
    version = workspace.version(ref)
    assert version.artifact_names() == ["dropped"]
    assert version.artifact("dropped").equals(dropped)
    with pytest.raises(NotFoundError, match="no artifact 'clusters'"):
        version.artifact("clusters")


def test_metrics_are_stored_per_version_kind_and_config(workspace: Workspace) -> None:
    ref = _publish(workspace, "m", pa.table({"id": ["a"], "text": ["x"]}))
    info = workspace.version(ref).info
    assert workspace.catalog.load_metrics(info, "quality") is None
    workspace.catalog.save_metrics(info, "quality", "cfg1", {"completeness": 0.5})
    workspace.catalog.save_metrics(info, "quality", "cfg1", {"completeness": 0.75})  # replaces
    workspace.catalog.save_metrics(info, "quality", "cfg2", {"completeness": 0.9})
    assert workspace.catalog.load_metrics(info, "quality", "cfg1") == {"completeness": 0.75}
    assert workspace.catalog.load_metrics(info, "quality") == {"completeness": 0.9}  # newest
    assert workspace.catalog.load_metrics(info, "other") is None
