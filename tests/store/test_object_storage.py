"""Versions on object storage (a real S3-compatible server) with the catalog on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import pickle
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from pyarrow import fs as pafs

from datatrainer.errors import DatatrainerError
from datatrainer.store.writer import PartSink
from datatrainer.workspace import Workspace


@pytest.fixture
def s3_workspace(tmp_path: Path, s3_bucket: str, catalog_url: str | None) -> Iterator[Workspace]:
    ws = Workspace.init(tmp_path / "ws", db_url=catalog_url, data_url=f"s3://{s3_bucket}/team/data")
    yield ws
    ws.close()


def _objects(ws: Workspace, under: str = "") -> list[str]:
    base = ws.data.path(under) if under else ws.data.base
    return sorted(info.path[len(ws.data.base) + 1:] for info in ws.data.list(base, recursive=True) if info.is_file)


def test_versions_round_trip_on_object_storage(s3_workspace: Workspace) -> None:
    ws = s3_workspace
    first = pa.table({"id": ["a", "b"], "text": ["x", "y"]})
    with ws.datasets.new_version() as writer:
        writer.write_part(1, pa.table({"id": ["c"], "text": ["z"], "lang": ["en"]}))
        writer.write_part(0, first)
        writer.write_artifact("dropped", pa.table({"id": ["q"], "reason": ["short"]}))
        assert _objects(ws, "versions") != []  # parts are written in place...
        assert ws.datasets.names() == []  # ...but nothing is a version before the catalog row
        ref = writer.commit(dataset="remote", operation="test", params={}).ref
    version = ws.version(ref)
    assert version.to_table().column("id").to_pylist() == ["a", "b", "c"]
    assert version.to_table().column("lang").to_pylist() == [None, None, "en"]
    assert version.artifact("dropped").column("reason").to_pylist() == ["short"]
    assert version.artifact_names() == ["dropped"]
    key = version.info.storage_key
    assert _objects(ws) == [f"versions/{key}/artifacts/dropped.parquet", f"versions/{key}/part-000000.parquet",
                            f"versions/{key}/part-000001.parquet"]
    assert not any((ws.root / "versions").iterdir())  # nothing landed on local disk
    with ws.datasets.new_version() as writer:
        writer.write_part(0, pa.table({"id": ["b", "c", "d"], "text": ["y", "z", "w"]}))
        newer = writer.commit(dataset="remote", operation="test", params={}).ref
    diff = ws.datasets.diff(ref, newer)
    assert (diff.added, diff.removed, diff.kept_count) == (["d"], ["a"], 2)


def test_aborted_and_failed_writes_publish_nothing(s3_workspace: Workspace) -> None:
    ws = s3_workspace
    with pytest.raises(RuntimeError), ws.datasets.new_version() as writer:
        writer.write_part(0, pa.table({"id": ["a"], "text": ["x"]}))
        raise RuntimeError("crash before commit")
    with pytest.raises(DatatrainerError, match="invalid dataset name"), ws.datasets.new_version() as writer:
        writer.write_part(0, pa.table({"id": ["a"], "text": ["x"]}))
        writer.commit(dataset="bad name", operation="test", params={})
    assert ws.datasets.names() == [] and _objects(ws) == []


def test_workers_write_parts_through_a_pickled_sink(s3_workspace: Workspace) -> None:
    ws = s3_workspace
    with ws.datasets.new_version() as writer:
        sink = pickle.loads(pickle.dumps(writer.sink()))  # what a Ray task receives
        assert isinstance(sink, PartSink)
        metas = [sink.write(seq, pa.table({"id": [f"r{seq}"], "text": ["t"]})) for seq in (2, 0, 1)]
        metas.append(sink.write(3, pa.table({"id": pa.array([], pa.string()), "text": pa.array([], pa.string()),
                                             "extra": pa.array([], pa.int64())})))
        sink.write(9, pa.table({"id": ["never adopted"], "text": ["t"]}))  # a retried task's first attempt
        writer.adopt(pickle.loads(pickle.dumps(metas)))
        ref = writer.commit(dataset="sunk", operation="test", params={}).ref
    version = ws.version(ref)
    assert version.to_table().column("id").to_pylist() == ["r0", "r1", "r2"]
    assert "extra" in version.schema.names and version.num_rows == 3
    assert len(version.files) == 3


def test_commit_refuses_a_version_with_a_missing_part(s3_workspace: Workspace) -> None:
    ws = s3_workspace
    with ws.datasets.new_version() as writer:
        meta = writer.sink().write(0, pa.table({"id": ["a"], "text": ["x"]}))
        writer.adopt([meta])
        assert meta.path is not None
        ws.data.filesystem.delete_file(meta.path)  # a worker's upload lost
        with pytest.raises(DatatrainerError, match=r"part-000000\.parquet of the new version is missing"):
            writer.commit(dataset="lost", operation="test", params={})
    assert ws.datasets.names() == [] and _objects(ws) == []


def test_gc_removes_unpublished_versions_on_object_storage(s3_workspace: Workspace) -> None:
    ws = s3_workspace
    with ws.datasets.new_version() as writer:
        writer.write_part(0, pa.table({"id": ["a"], "text": ["x"]}))
        ref = writer.commit(dataset="kept", operation="test", params={}).ref
    leftover = ws.datasets.new_version()  # a driver killed after its workers wrote parts
    leftover.write_part(0, pa.table({"id": ["b"], "text": ["y"]}))
    assert ws.collect_garbage() == []  # young leftovers may still be written to
    removed = ws.collect_garbage(min_age=0)
    assert [path.name for path in removed] == [leftover.storage_key]
    assert ws.version(ref).to_table().num_rows == 1
    assert _objects(ws) == [f"versions/{ws.version(ref).info.storage_key}/part-000000.parquet"]


def test_init_stores_the_data_url_but_no_secret(tmp_path: Path, s3_bucket: str, pg_url: str) -> None:
    url = f"s3://{s3_bucket}/prefix"
    with Workspace.init(tmp_path / "ws", db_url=pg_url, data_url=url) as ws, ws.datasets.new_version() as writer:
        writer.write_part(0, pa.table({"id": ["a"], "text": ["x"]}))
        writer.commit(dataset="shared", operation="test", params={})
    text = (tmp_path / "ws" / "datatrainer.toml").read_text()
    settings = tomllib.loads(text)
    assert settings["storage"]["data_url"] == url
    assert settings["catalog"]["url"] == pg_url
    assert os.environ["AWS_SECRET_ACCESS_KEY"] not in text
    with Workspace.open(tmp_path / "ws") as again:  # no flags: both URLs come from the settings
        assert again.version("shared").to_table().column("id").to_pylist() == ["a"]
    with pytest.raises(DatatrainerError, match="already keeps its data"):
        Workspace.init(tmp_path / "ws", data_url=f"s3://{s3_bucket}/other")


def test_storage_errors_are_one_line_and_fast(tmp_path: Path, s3_bucket: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DatatrainerError, match="bucket 'no-such-bucket' does not exist"):
        Workspace.init(tmp_path / "a", data_url="s3://no-such-bucket/x")
    with socketless_port() as port:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
        started = time.monotonic()
        with pytest.raises(DatatrainerError, match=f"cannot reach the object store at 127.0.0.1:{port}"):
            Workspace.init(tmp_path / "b", data_url=f"s3://{s3_bucket}/x")
        assert time.monotonic() - started < 10
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    with pytest.raises(DatatrainerError, match="no credentials for s3://") as caught:
        Workspace.init(tmp_path / "c", data_url=f"s3://{s3_bucket}/x")
    assert "\n" not in str(caught.value)
    assert pafs.LocalFileSystem().get_file_info(str(tmp_path / "c" / "datatrainer.toml")).type.name == "NotFound"


class socketless_port:
    """A port nothing listens on (bound, never listening), released afterwards."""

    def __enter__(self) -> int:
        import socket

        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        return int(self._socket.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        self._socket.close()


def test_score_and_embedding_stores_on_object_storage_match_local_disk(tmp_path: Path, s3_bucket: str) -> None:
    source = tmp_path / "texts.jsonl"
    texts = [f"text number {i % 23}" for i in range(60)]  # repeated texts share a content hash
    source.write_text("".join(f'{{"id": "r{i}", "text": "{text}"}}\n' for i, text in enumerate(texts)))
    results = []
    for data_url in (None, f"s3://{s3_bucket}/stores"):
        with Workspace.init(tmp_path / f"ws-{bool(data_url)}", data_url=data_url) as ws:
            version = ws.ingest(source, "t")
            first = ws.scores.missing(version, "toy", "abc")
            ws.scores.add("toy", "abc", first[:10], np.arange(10, dtype=np.float64), {"k": 1})
            rest = ws.scores.missing(version, "toy", "abc")
            ws.scores.add("toy", "abc", rest, np.arange(len(rest), dtype=np.float64) + 100, {"k": 1})
            hashes = ws.embeddings.missing(version, "emb", "e1")
            vectors = np.random.default_rng(0).normal(size=(len(hashes), 4))
            ws.embeddings.add("emb", "e1", hashes, vectors, {"model": "toy"})
            ids, matrix = ws.embeddings.embeddings_for(version, "toy")
            results.append((ws.scores.scores_for(version, "toy").to_pylist(), ids.to_pylist(), matrix,
                            [c.params for c in ws.scores.configs()], len(ws.scores.missing(version, "toy", "abc"))))
            if data_url:
                assert not (tmp_path / "ws-True" / "scores").exists()
                stored = [i.path for i in ws.data.list(ws.data.base, recursive=True) if i.is_file]
                assert any(path.endswith(".npy") for path in stored)
                assert any(path.endswith("/scores/toy/abc/config.json") for path in stored)
                stray = ws.data.path("embeddings", "emb", "e1", "00000000000000000001-killed.npy")
                with ws.data.filesystem.open_output_stream(stray) as out:  # killed before its index
                    out.write(b"half")
                assert [path.name for path in ws.collect_garbage(min_age=0)] == ["00000000000000000001-killed.npy"]
    (local_scores, local_ids, local_matrix, local_configs, _), remote = results[0], results[1]
    assert remote[0] == local_scores and remote[1] == local_ids and remote[3] == local_configs == [{"k": 1}]
    np.testing.assert_array_equal(remote[2], local_matrix)
    assert remote[4] == 0 and len(set(texts)) == 23
