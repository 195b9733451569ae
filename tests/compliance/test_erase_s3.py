"""Erasure on a workspace whose data lives on object storage (a real S3-compatible server, moto).

The same subject as `tests/security/test_erase.py` is spread over an ingested version, a version derived
from it, the score and embedding stores, an annotation project and an export; after `datatrainer erase` no
object under the bucket prefix may hold the subject's text (raw bytes, and Parquet values decoded, since
compression hides them) nor the content hashes the
stores key them by, nor any file under the workspace folder, nor any catalog row.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pyarrow import fs as pafs

from datatrainer.workspace import Workspace
from tests.s3_server import s3_bucket, s3_endpoint, s3_env  # noqa: F401  (fixtures)
from tests.security.test_erase import OTHERS, SECRETS, _cli, _files_with, _rows_with, build


def _objects_with(ws: Workspace, needles: tuple[str, ...]) -> tuple[list[str], int]:
    """Objects under the workspace's prefix holding a needle; and how many objects were read."""
    found, count = [], 0
    filesystem = ws.data.filesystem
    for entry in filesystem.get_file_info(pafs.FileSelector(ws.data.base, recursive=True)):
        if entry.type != pafs.FileType.File:
            continue
        count += 1
        with filesystem.open_input_stream(entry.path) as stream:
            data = stream.read()
        if entry.path.endswith(".parquet") and not data.endswith(b"PARE"):
            data += repr(pq.read_table(entry.path, filesystem=filesystem).to_pylist()).encode()
        found += [f"{entry.path}: {n[:20]}" for n in needles if n.encode() in data]
    return found, count


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
def test_erase_leaves_nothing_on_object_storage(tmp_path: Path, s3_bucket: str, encrypted: bool,  # noqa: F811
                                                catalog_url: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    from datatrainer.security.keys import new_provider

    monkeypatch.setenv("DATATRAINER_PASSPHRASE", "s3 erasure passphrase")
    with Workspace.init(tmp_path / "ws", db_url=catalog_url, data_url=f"s3://{s3_bucket}/team/data") as ws:
        if encrypted:
            assert ws.keys.setup(new_provider("passphrase"))
        export = build(ws, tmp_path)
        table = ws.version("docs@1").to_table(["text", "content_hash"]).to_pylist()
        hashes = tuple(row["content_hash"] for row in table if row["text"] in SECRETS)  # keys of the stores
        assert len(hashes) == 2 and (encrypted or _objects_with(ws, hashes)[0])
        before, objects = _objects_with(ws, SECRETS)
        assert objects >= 4 and (before or encrypted)  # the check sees the text before (when it is readable)
        assert bool(_rows_with(ws, SECRETS)) != encrypted  # encrypted: the catalog holds them sealed

        result = _cli(ws, "erase", "--where", "author_id = 'u123'")
        assert result.exit_code == 0, result.output

        after, objects = _objects_with(ws, SECRETS)
        assert after == [] and objects >= 2
        assert _objects_with(ws, hashes)[0] == []  # no score or embedding shard keeps the subject's hash
        assert _files_with(ws.root, SECRETS) == [] and _files_with(export, SECRETS) == []
        assert _rows_with(ws, SECRETS) == []
        for ref in ("docs@1", "docs-long@1"):
            version = ws.version(ref)
            assert sorted(version.to_table(["text"]).column("text").to_pylist()) == sorted(OTHERS)
            old_folders = [e.path for e in ws.data.list(ws.data.path("versions"), recursive=False)]
            assert len(old_folders) == 2, old_folders  # the old folders of both versions are gone
        assert len(ws.scores.scores_for(ws.version("docs@1"), "toy")) == len(OTHERS)
        assert ws.embeddings.embeddings_for(ws.version("docs@1"), "def456")[1].shape == (len(OTHERS), 4)
        assert ws.audit.verify().ok
