"""Encryption at rest through the Python API: versions, artifacts, workers' parts, score and embedding stores,
key providers and rotation, on SQLite and PostgreSQL catalogs.

Every "cannot be read" claim is a real read attempt, with pyarrow and with DuckDB, that must fail; every
"reads back" claim compares with the same data stored by a plaintext workspace.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from datatrainer.errors import DatatrainerError
from datatrainer.security.keys import KeyUnavailableError, WrongKeyError, new_provider
from datatrainer.security.keys_models import DataKeyRow
from datatrainer.store.schema import CONTENT_HASH, ID, TEXT
from datatrainer.workspace import Workspace
from tests.conftest import write_lines
from tests.s3_server import s3_bucket, s3_endpoint, s3_env  # noqa: F401  (fixtures)
from tests.security import kms_fake

PASSPHRASE = "correct horse battery staple"
MARKER = "ZEBRAQUOKKA7731"
DATA_DIRS = ("versions", "scores", "embeddings", "tmp")


@pytest.fixture
def records(tmp_path: Path) -> Path:
    """The marker is in every text and id. Pages are zstd-compressed, but a plaintext footer keeps the id
    column's min/max statistics verbatim, so a byte scan of a plaintext workspace finds it (checked below)."""
    return write_lines(tmp_path / "in.jsonl", *[json.dumps({"id": f"{MARKER}-{i:04d}", "text": f"{MARKER} note {i}",
                                                            "meta": {"n": i}}) for i in range(300)])


@pytest.fixture
def encrypted(tmp_path: Path, catalog_url: str | None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    monkeypatch.setenv("DATATRAINER_PASSPHRASE", PASSPHRASE)
    ws = Workspace.init(tmp_path / "ws", db_url=catalog_url)
    assert ws.keys.setup(new_provider("passphrase"))
    yield ws
    ws.close()


def data_files(root: Path) -> list[Path]:
    return [path for top in DATA_DIRS for path in sorted((root / top).rglob("*")) if path.is_file()]


def leaks(root: Path, needle: bytes = MARKER.encode()) -> list[Path]:
    return [path for path in data_files(root) if needle in path.read_bytes()]


def fingerprint(root: Path) -> dict[str, str]:
    return {str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest() for path in data_files(root)}


def assert_unreadable(path: Path) -> None:
    with pytest.raises(OSError, match="encrypted"):
        pq.read_table(path)
    with pytest.raises(duckdb.Error, match="encrypted"):
        duckdb.sql(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()


def test_versions_unreadable_without_the_key_identical_with_it(encrypted: Workspace, records: Path,
                                                               tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "plain") as plain:
        expected = plain.ingest(records, "web").to_table()
        plain.apply("filter", ["web@1"], {"where": "meta.n % 2 = 0"})
        assert leaks(plain.root), "the marker check must be able to fail"
    version = encrypted.ingest(records, "web")
    kept = encrypted.apply("filter", ["web@1"], {"where": "meta.n % 2 = 0"})
    assert version.crypto is not None and kept.crypto is not None and version.crypto.key != kept.crypto.key

    files = data_files(encrypted.root)
    assert {path.suffix for path in files} == {".parquet"} and len(files) >= 3  # parts and the dropped artifact
    for path in files:
        assert_unreadable(path)
    assert leaks(encrypted.root) == []

    assert version.to_table().equals(expected)
    assert kept.to_table()[ID].to_pylist() == [f"{MARKER}-{i:04d}" for i in range(0, 300, 2)]
    assert kept.artifact("dropped").num_rows == 150
    diff = encrypted.datasets.diff("web@1", "web@2")  # DuckDB over both versions, fed Arrow by pyarrow
    assert (diff.removed_count, diff.kept_count) == (150, 150)


def test_parts_written_by_workers_are_encrypted(encrypted: Workspace, tmp_path: Path) -> None:
    """A Ray worker gets the writer's sink pickled; the data key travels with it and encrypts its parts."""
    table = pa.table({ID: ["a", "b"], TEXT: [f"{MARKER} one", "two"]})
    with encrypted.datasets.new_version() as writer:
        sink = pickle.loads(pickle.dumps(writer.sink()))  # what crosses to a worker process
        writer.adopt([sink.write(0, table)])
        info = writer.commit(dataset="remote", operation="test", params={})
    version = encrypted.version(info.ref)
    assert_unreadable(Path(version.files[0]))
    assert version.to_table().select([ID, TEXT]).equals(table)


def test_score_and_embedding_stores_are_encrypted(encrypted: Workspace, records: Path) -> None:
    version = encrypted.ingest(records, "web")
    hashes = version.to_table([CONTENT_HASH])[CONTENT_HASH].unique()
    scores = np.linspace(0, 1, len(hashes))
    encrypted.scores.add("toy", "abc123", hashes, scores, {"kind": "toy"})
    vectors = np.random.default_rng(0).normal(size=(len(hashes), 8)).astype(np.float16)
    encrypted.embeddings.add("toy-model", "def456", hashes, vectors, {"model": "toy-model"})

    for path in data_files(encrypted.root):
        if path.suffix == ".parquet":
            assert_unreadable(path)
        else:
            assert not path.read_bytes().startswith(b"\x93NUMPY")  # a sealed matrix, not an .npy
    by_hash = dict(zip(hashes.to_pylist(), scores, strict=True))
    stored = encrypted.scores.scores_for(version, "toy")
    assert stored["score"].to_pylist() == [by_hash[h] for h in stored[CONTENT_HASH].to_pylist()]
    ids, matrix = encrypted.embeddings.embeddings_for(version, "toy-model", dtype=np.float16)
    row = {h: i for i, h in enumerate(hashes.to_pylist())}
    assert np.array_equal(matrix, vectors[[row[h] for h in version.to_table([CONTENT_HASH])[CONTENT_HASH].to_pylist()]])
    assert ids.to_pylist() == version.to_table([ID])[ID].to_pylist()


def test_wrong_or_missing_passphrase(encrypted: Workspace, records: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    encrypted.ingest(records, "web")
    encrypted.close()
    monkeypatch.setenv("DATATRAINER_PASSPHRASE", "not it")
    with Workspace.open(encrypted.root, encrypted.catalog.url) as ws, \
            pytest.raises(WrongKeyError, match=f"^wrong passphrase for workspace {encrypted.root}$"):
        ws.version("web@1")
    monkeypatch.delenv("DATATRAINER_PASSPHRASE")
    with Workspace.open(encrypted.root, encrypted.catalog.url) as ws, \
            pytest.raises(KeyUnavailableError, match="set DATATRAINER_PASSPHRASE"):
        ws.version("web@1")


def test_rotation_rewraps_keys_and_leaves_files_alone(encrypted: Workspace, records: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    version = encrypted.ingest(records, "web")
    expected = version.to_table()
    hashes = version.to_table([CONTENT_HASH])[CONTENT_HASH].unique()
    encrypted.scores.add("toy", "abc123", hashes, np.zeros(len(hashes)), {"kind": "toy"})
    before_files = fingerprint(encrypted.root)

    def wrapped() -> dict[str, bytes]:
        with encrypted.catalog.engine.connect() as connection:
            return {key: value for key, value in connection.execute(select(DataKeyRow.key_id, DataKeyRow.wrapped))}

    before_keys = wrapped()
    monkeypatch.setenv("DATATRAINER_NEW_PASSPHRASE", "a new passphrase")
    assert encrypted.keys.rotate(new_provider("passphrase", passphrase_env="DATATRAINER_NEW_PASSPHRASE"),
                                 encrypted.audit, "tester") == 3  # the version's, the store's, the catalog's
    after_keys = wrapped()
    assert after_keys.keys() == before_keys.keys() and all(after_keys[k] != before_keys[k] for k in before_keys)
    assert fingerprint(encrypted.root) == before_files
    assert encrypted.audit.entries(entity="workspace_keys")[-1].action == "keys.rotate"
    encrypted.close()

    with Workspace.open(encrypted.root, encrypted.catalog.url) as ws, pytest.raises(WrongKeyError):
        ws.version("web@1")  # the old passphrase is retired
    monkeypatch.setenv("DATATRAINER_PASSPHRASE", "a new passphrase")
    with Workspace.open(encrypted.root, encrypted.catalog.url) as ws:
        assert ws.version("web@1").to_table().equals(expected)
        assert ws.scores.scores_for(ws.version("web@1"), "toy")["score"].null_count == 0


def test_encrypting_an_existing_workspace_resumes_after_a_crash(tmp_path: Path, catalog_url: str | None,
                                                                records: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from datatrainer.security import keys_encrypt

    with Workspace.init(tmp_path / "ws", db_url=catalog_url) as ws:
        version = ws.ingest(records, "web")
        ws.apply("filter", ["web@1"], {"where": "meta.n < 100"})
        hashes = version.to_table([CONTENT_HASH])[CONTENT_HASH].unique()
        ws.embeddings.add("toy-model", "def456", hashes, np.ones((len(hashes), 4), np.float16), {"model": "toy-model"})
        expected = {ref: ws.version(ref).to_table() for ref in ("web@1", "web@2")}
        groups = ws.version("web@1").open_part(0).num_row_groups
        assert leaks(ws.root)

    real_put, calls = keys_encrypt.put_file, []

    def crash_on_third(*args: object) -> None:
        calls.append(args)
        if len(calls) == 3:
            raise KeyboardInterrupt  # the user pressed Ctrl-C mid-run
        real_put(*args)  # type: ignore[arg-type]

    monkeypatch.setenv("DATATRAINER_PASSPHRASE", PASSPHRASE)
    monkeypatch.setattr(keys_encrypt, "put_file", crash_on_third)
    with Workspace.open(tmp_path / "ws", catalog_url) as ws, pytest.raises(KeyboardInterrupt):
        keys_encrypt.encrypt_workspace(ws, new_provider("passphrase"), "tester")
    with Workspace.open(tmp_path / "ws", catalog_url) as ws:  # half-way: everything still reads
        assert ws.version("web@1").to_table().equals(expected["web@1"])
    monkeypatch.setattr(keys_encrypt, "put_file", real_put)
    with Workspace.open(tmp_path / "ws", catalog_url) as ws:
        report = keys_encrypt.encrypt_workspace(ws, None, "tester")
        assert (report.switched_on, report.files_already_encrypted) == (False, 2)
        assert keys_encrypt.encrypt_workspace(ws, None, "tester").files_rewritten == 0
        for ref, table in expected.items():
            assert ws.version(ref).to_table().equals(table)
        assert ws.version("web@1").open_part(0).num_row_groups == groups
        assert ws.embeddings.embeddings_for(ws.version("web@1"), "toy-model")[1].shape == (300, 4)
    assert leaks(tmp_path / "ws") == []
    assert not [p for p in data_files(tmp_path / "ws") if p.name.startswith(".encrypting-")]
    for path in data_files(tmp_path / "ws"):
        if path.suffix == ".parquet":
            assert_unreadable(path)


def test_key_file_provider(tmp_path: Path, records: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key_file = tmp_path / "keys" / "ws.key"
    with Workspace.init(tmp_path / "ws") as ws:
        ws.keys.setup(new_provider("keyfile", key_file=key_file))
        expected = ws.ingest(records, "web").to_table()
    assert key_file.stat().st_mode & 0o077 == 0
    with Workspace.open(tmp_path / "ws") as ws:
        assert ws.version("web").to_table().equals(expected)
    key_file.rename(tmp_path / "elsewhere.key")
    with Workspace.open(tmp_path / "ws") as ws, pytest.raises(KeyUnavailableError, match=f"key file {key_file}"):
        ws.version("web")
    monkeypatch.setenv("DATATRAINER_KEY_FILE", str(tmp_path / "elsewhere.key"))
    with Workspace.open(tmp_path / "ws") as ws:
        assert ws.version("web").num_rows == 300
    new_provider("keyfile", key_file=tmp_path / "other.key")
    monkeypatch.setenv("DATATRAINER_KEY_FILE", str(tmp_path / "other.key"))
    with Workspace.open(tmp_path / "ws") as ws, pytest.raises(WrongKeyError, match="does not hold the key"):
        ws.version("web")


def test_kms_provider(tmp_path: Path, records: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATATRAINER_KMS_CLIENT", "tests.security.kms_fake:FakeKms")
    with Workspace.init(tmp_path / "ws") as ws:
        ws.keys.setup(new_provider("kms", kms_key_id="team-key-1"))
        expected = ws.ingest(records, "web").to_table()
        ws.keys.rotate(new_provider("kms", kms_key_id="team-key-2"), ws.audit, "tester")
    with Workspace.open(tmp_path / "ws") as ws:
        assert ws.version("web").to_table().equals(expected)
    monkeypatch.setattr(kms_fake, "refuse", True)
    with Workspace.open(tmp_path / "ws") as ws, pytest.raises(WrongKeyError, match="KMS key team-key-2"):
        ws.version("web")
    monkeypatch.setenv("DATATRAINER_KMS_CLIENT", "tests.security.no_such_module:Kms")
    with Workspace.open(tmp_path / "ws") as ws, pytest.raises(KeyUnavailableError, match="cannot load the KMS"):
        ws.version("web")


def test_object_storage_workspace(tmp_path: Path, s3_bucket: str, records: Path,  # noqa: F811
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Data on S3 (a real S3-compatible server): encrypting in place uploads each object whole, and new
    versions are written encrypted straight to the bucket."""
    from datatrainer.security.keys_encrypt import encrypt_workspace

    monkeypatch.setenv("DATATRAINER_PASSPHRASE", PASSPHRASE)
    with Workspace.init(tmp_path / "ws", data_url=f"s3://{s3_bucket}/team/data") as ws:
        expected = ws.ingest(records, "web").to_table()
        hashes = expected[CONTENT_HASH].unique()
        ws.scores.add("toy", "abc123", hashes, np.ones(len(hashes)), {"kind": "toy"})
        report = encrypt_workspace(ws, new_provider("passphrase"), "tester")
        assert (report.switched_on, report.files_rewritten) == (True, 2)
        assert ws.ingest(records, "web").to_table().equals(expected)
        objects = [e.path for e in ws.data.list(ws.data.base, recursive=True) if e.path.endswith(".parquet")]
        assert len(objects) == 3
        for path in objects:
            with pytest.raises(OSError, match="encrypted"):
                pq.read_table(path, filesystem=ws.data.filesystem)
        assert ws.version("web@1").to_table().equals(expected)
        assert ws.scores.scores_for(ws.version("web@1"), "toy")["score"].null_count == 0


def test_a_version_written_across_a_rotation_is_refused(encrypted: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its data key was wrapped by the retired master key: storing it would leave the version unreadable."""
    monkeypatch.setenv("DATATRAINER_NEW_PASSPHRASE", "a new passphrase")
    table = pa.table({ID: ["a"], TEXT: ["x"]})
    with encrypted.datasets.new_version() as writer:
        writer.write_part(0, table)
        encrypted.keys.rotate(new_provider("passphrase", passphrase_env="DATATRAINER_NEW_PASSPHRASE"),
                              encrypted.audit, "tester")
        with pytest.raises(DatatrainerError, match="was rotated while this was written"):
            writer.commit(dataset="web", operation="test", params={})
    assert encrypted.datasets.names() == [] and not list((encrypted.root / "versions").iterdir())
    with encrypted.datasets.new_version() as writer:  # a writer started after the rotation is fine
        writer.write_part(0, table)
        info = writer.commit(dataset="web", operation="test", params={})
    assert encrypted.version(info.ref).to_table().select([ID, TEXT]).equals(table)


def test_a_process_follows_a_rotation_made_by_another(tmp_path: Path, records: Path) -> None:
    """Two handles on one workspace stand for two processes. After the other one rotates the key file, this one
    reads a version keyed under the new master key (it unlocks it), and a version it wrapped under a master key
    retired meanwhile is refused once, then written under the current one."""
    with Workspace.init(tmp_path / "ws") as here, Workspace.open(tmp_path / "ws") as there:
        here.keys.setup(new_provider("keyfile", key_file=tmp_path / "first.key"))
        expected = here.ingest(records, "web").to_table()
        there.keys.rotate(new_provider("keyfile", key_file=tmp_path / "second.key"), there.audit, "tester")
        there.ingest(records, "web")
        (tmp_path / "first.key").unlink()
        assert here.version("web@2").to_table().equals(expected)

        with here.datasets.new_version() as writer:
            writer.write_part(0, expected)
            there.keys.rotate(new_provider("keyfile", key_file=tmp_path / "third.key"), there.audit, "tester")
            with pytest.raises(DatatrainerError, match="was rotated while this was written"):
                writer.commit(dataset="web", operation="test", params={})
        assert here.ingest(records, "web").to_table().equals(expected)
        assert here.version("web@1").to_table().equals(expected)
