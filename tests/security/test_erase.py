"""Right to erasure, end to end through the CLI on SQLite and PostgreSQL.

A workspace holds a data subject's two records in an ingested version, a version derived from it, the score
and embedding stores, an annotation project (task, annotation with the text, review comment), the audit log
and an export. After `datatrainer erase --where "author_id = 'u123'"` the subject's texts must appear in no
byte of any file under the workspace or the export, and in no database row; everything else stays.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from datatrainer.cli.app import app
from datatrainer.compliance.erasure import RECEIPTS_DIR
from datatrainer.errors import DatatrainerError
from datatrainer.workspace import Workspace
from tests.annotation.core_fixtures import ADMIN, users

SECRETS = ("Zyxwv Subject wrote: my card ends 4242 and I live at 7 Quillon Lane",
           "Second note by Zyxwv Subject about the Quillon garden party")
OTHERS = [f"Ordinary record number {i} about gardens and weather" for i in range(6)]


def _records() -> list[dict[str, Any]]:
    rows = [{"id": f"s{i}", "text": t, "author_id": "u123"} for i, t in enumerate(SECRETS)]
    return rows + [{"id": f"o{i}", "text": t, "author_id": f"u{i}"} for i, t in enumerate(OTHERS)]


def build(ws: Workspace, tmp_path: Path) -> Path:
    """The subject's records everywhere the workspace copies data; returns the export folder."""
    source = tmp_path / "records.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in _records()))
    v1 = ws.ingest(source, "docs")
    ws.apply("filter", [v1.ref], {"where": "length(text) > 10"}, name="docs-long")
    hashes = v1.to_table(["content_hash"]).column("content_hash")
    ws.scores.add("toy", "abc123", hashes, np.arange(len(hashes), dtype=np.float32), {"scorer": "toy"})
    ws.embeddings.add("toy", "def456", hashes, np.ones((len(hashes), 4), np.float32), {"model": "toy"})
    ws.annotation.create_project(ADMIN, "p", "docs@1", "classification", ["pos", "neg"])
    annotator = users(ws, "ann")[0]
    ws.annotation.add_member(ADMIN, "p", "ann", "annotator")
    task = ws.annotation.next_task(annotator, "p")
    assert task is not None and task.payload["text"] == SECRETS[0]
    ws.annotation.submit(annotator, task.id, {"labels": ["pos"]})
    ws.annotation.review(ADMIN, task.id, "accept", comment=f"quoting: {SECRETS[0]}")
    annotations = tmp_path / "annotations" / "p.jsonl"  # an annotation file export, recorded by the CLI
    annotations.parent.mkdir()
    decrypt = ["--decrypt"] if ws.keys.encrypted else []
    assert _cli(ws, "annotate", "export", "p", "--format", "jsonl", "--out", str(annotations), *decrypt).exit_code == 0
    assert SECRETS[0] in annotations.read_text()
    report = ws.root / "reports" / "quality-docs-1.html"  # where `quality report` writes, quoting records
    report.parent.mkdir(exist_ok=True)
    report.write_text(f"<p>worst record: {SECRETS[1]}</p>")
    return ws.export("docs-long@1", tmp_path / "export", "jsonl", decrypt=ws.keys.encrypted)


def _cli(ws: Workspace, *args: str) -> Any:
    db = [] if ws.catalog.url.startswith("sqlite") else ["--db-url", ws.catalog.url]
    return CliRunner().invoke(app, ["-w", str(ws.root), *db, "--no-progress", *args])


def _files_with(folder: Path, needles: tuple[str, ...]) -> list[str]:
    """Files holding a needle in their raw bytes or, for Parquet (compressed), in their decoded values."""
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if path.suffix == ".parquet":
                data += repr(pq.read_table(path).to_pylist()).encode()
            found += [f"{path}: {n[:20]}" for n in needles if n.encode() in data]
    return found


def _rows_with(ws: Workspace, needles: tuple[str, ...]) -> list[str]:
    found = []
    engine = ws.catalog.engine
    with engine.connect() as connection:
        for table in inspect(engine).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                found += [f"{table}: {n[:20]}" for n in needles if n in repr(tuple(row))]
    return found


def test_erase_removes_the_subject_everywhere(workspace: Workspace, tmp_path: Path) -> None:
    ws = workspace
    export = build(ws, tmp_path)
    assert _files_with(ws.root, SECRETS) and _rows_with(ws, SECRETS)  # the check can see them before
    before = {ref: ws.version(ref).num_rows for ref in ("docs@1", "docs-long@1")}

    result = _cli(ws, "erase", "--where", "author_id = 'u123'")
    assert result.exit_code == 0, result.output
    assert "erased 2 records" in result.output and "receipt:" in result.output

    assert _files_with(ws.root, SECRETS) == [] and _files_with(export, SECRETS) == []
    assert _files_with(tmp_path / "annotations", SECRETS) == [] and (tmp_path / "annotations" / "p.jsonl").exists()
    assert _rows_with(ws, SECRETS) == []
    for ref, rows in before.items():  # refs kept, records gone, the erasure in the version's lineage
        version = ws.version(ref)
        assert version.num_rows == rows - 2 and "s0" not in version.to_table(["id"]).column("id").to_pylist()
        assert version.info.stats["erasures"][0]["removed"] == 2
    assert ws.version("docs-long@1").info.parents == ("docs@1",)
    exported = [json.loads(line)["id"] for line in (export / "data.jsonl").read_text().splitlines()]
    assert sorted(exported) == sorted(f"o{i}" for i in range(len(OTHERS)))  # rewritten in place
    assert len(ws.scores.scores_for(ws.version("docs@1"), "toy")) == len(OTHERS)  # others' values stay
    assert ws.annotation.progress(ADMIN, "p").total == len(OTHERS)
    report = ws.audit.verify()
    assert report.ok and report.erased_payloads >= 1, report
    receipt = json.loads(next((ws.root / RECEIPTS_DIR).glob("erasure-*.json")).read_text())
    assert receipt["records"] == 2 and receipt["tasks"] == 2 and receipt["who"].startswith("local:")
    assert {v["ref"] for v in receipt["versions"]} == set(before)
    assert not any(secret in json.dumps(receipt) for secret in SECRETS) and "u123" not in json.dumps(receipt)

    again = _cli(ws, "erase", "--where", "author_id = 'u123'")  # idempotent
    assert again.exit_code == 0 and "no record matches" in again.output


def test_erase_by_value_and_ids(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    ws = sqlite_workspace
    build(ws, tmp_path)
    result = _cli(ws, "erase", "--value", "7 Quillon Lane")
    assert result.exit_code == 0 and "erased 1 records" in result.output, result.output
    assert _files_with(ws.root, SECRETS[:1]) == [] and _rows_with(ws, SECRETS[:1]) == []
    assert SECRETS[1] in ws.version("docs@1").to_table(["text"]).column("text").to_pylist()
    ids = tmp_path / "ids.txt"
    ids.write_text("s1\n\n")
    assert _cli(ws, "erase", "--ids", str(ids)).exit_code == 0
    assert _files_with(ws.root, SECRETS) == [] and ws.audit.verify().ok


@pytest.mark.parametrize(("args", "message"), [
    (["--where", "text = (SELECT content FROM read_text('/etc/hostname'))"], "record's columns only"),
    (["--where", "author_id = = 'x'"], "invalid --where predicate"),
    (["--where", "no_such_column = 1"], "fits no version"),
    (["--where", "x", "--value", "y"], "exactly one of"),
])
def test_bad_requests_fail_with_one_line(sqlite_workspace: Workspace, tmp_path: Path, args: list[str],
                                         message: str) -> None:
    build(sqlite_workspace, tmp_path)
    result = _cli(sqlite_workspace, "erase", *args)
    assert result.exit_code == 1 and isinstance(result.exception, DatatrainerError)
    assert message in str(result.exception) and "\n" not in str(result.exception)


def test_filter_cannot_read_files(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    build(sqlite_workspace, tmp_path)
    result = _cli(sqlite_workspace, "filter", "docs@1", "--where",
                  "text = (SELECT content FROM read_text('/etc/hostname'))")
    assert result.exit_code == 1 and "file system operations are disabled" in str(result.exception)


def test_no_match_says_so(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    build(sqlite_workspace, tmp_path)
    result = _cli(sqlite_workspace, "erase", "--where", "author_id = 'nobody'")
    assert result.exit_code == 0 and "no record matches" in result.output


def test_concurrent_erasure_is_refused(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    from datatrainer.compliance.erasure import erasure_lock

    build(sqlite_workspace, tmp_path)
    with erasure_lock(sqlite_workspace):
        result = _cli(sqlite_workspace, "erase", "--where", "author_id = 'u123'")
    assert result.exit_code == 1 and "another erasure" in str(result.exception)


def test_erasure_crypto_shreds_encrypted_versions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In an encrypted workspace the old folders go and so do their data keys; the rewritten versions and the
    rewritten (encrypted) score and embedding shards read back under their keys."""
    from sqlalchemy import select

    from datatrainer.security.keys import new_provider
    from datatrainer.security.keys_models import DataKeyRow

    monkeypatch.setenv("DATATRAINER_PASSPHRASE", "erasure test passphrase")
    with Workspace.init(tmp_path / "ws") as ws:
        assert ws.keys.setup(new_provider("passphrase"))
        build(ws, tmp_path)
        old = {ref: ws.version(ref).info.storage_key for ref in ("docs@1", "docs-long@1")}
        assert _cli(ws, "erase", "--where", "author_id = 'u123'").exit_code == 0
        with ws.catalog.engine.connect() as connection:
            keys = set(connection.scalars(select(DataKeyRow.key_id)))
        for ref, key in old.items():
            version = ws.version(ref)
            assert key not in keys and version.info.storage_key in keys  # old key destroyed, new one kept
            assert not (ws.root / "versions" / key).exists()
            assert version.num_rows == len(OTHERS) and set(version.to_table(["text"]).column("text").to_pylist()) \
                == set(OTHERS)
        assert len(ws.scores.scores_for(ws.version("docs@1"), "toy")) == len(OTHERS)
        assert ws.embeddings.embeddings_for(ws.version("docs@1"), "def456")[1].shape == (len(OTHERS), 4)
        assert _rows_with(ws, SECRETS) == [] and ws.audit.verify().ok


def test_a_running_job_blocks_erasure_with_a_clear_error(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    ws = sqlite_workspace
    build(ws, tmp_path)
    job = ws.jobs.create("embed", {"ref": "docs@1"}, {}, ["docs@1"], "local:test", holder="worker-1", lease_s=300)
    result = _cli(ws, "erase", "--where", "author_id = 'u123'")
    assert result.exit_code == 1 and f"embed (job {job.id})" in str(result.exception)
    assert ws.version("docs@1").num_rows == len(_records())  # nothing was touched
