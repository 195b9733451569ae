"""A canary through every command that writes on an encrypted workspace.

Records carrying a unique string are ingested into an encrypted (SQLite) workspace, then every command that
writes under the workspace or to an output path runs on them; the canary must then appear in no byte of any
file under the workspace (the catalog database and its WAL included) nor of any output written without
`--decrypt`. Outputs that would be in the clear are refused with one line naming `--decrypt`, and the clear
exports made with `--decrypt` do hold it (so the byte scan is seen to work).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from datatrainer.quality.report import TEXT_LEFT_OUT
from datatrainer.workspace import Workspace
from tests.annotation.core_fixtures import ADMIN, users
from tests.security.test_encryption_cli import cli

CANARY = "Xqzv7Kanarie"
PASSPHRASE = "canary passphrase for the test"


def _records() -> list[dict[str, object]]:
    topics = ["gardens and weather in spring", "the history of small harbour towns", "how bread rises overnight",
              "tuning a bicycle gear for hills", "birds that nest under bridges", "slow cooking beans in winter"]
    rows: list[dict[str, object]] = [
        {"id": f"d{i}", "text": f"A plain note number {i} about {topic}, written for the canary test.",
         "label": "a" if i % 2 else "b"} for i, topic in enumerate(topics)]
    rows += [{"id": "c0", "text": f"{CANARY} {CANARY} {CANARY} mail {CANARY.lower()}@example.org", "label": "a"},
             {"id": "c1", "text": f"Dear {CANARY}, call me on +1 415 555 0132 about the {CANARY} garden.",
              "label": "b"},
             {"id": "c2", "text": f"Dear {CANARY}, call me on +1 415 555 0132 about the {CANARY} garden.",
              "label": "b"}]  # an exact duplicate, so dedup drops something that holds the canary
    return rows


def _content(path: Path) -> bytes:
    """A file's raw bytes, and for a plaintext Parquet file (compressed) its decoded values too."""
    data = path.read_bytes()
    if data.startswith(b"PAR1") and data.endswith(b"PAR1"):
        data += repr(pq.read_table(path).to_pylist()).encode()
    return data


def _leaks(*folders: Path) -> list[str]:
    """Every file under `folders` whose content holds the canary (in any case: lower-cased emails too)."""
    needle = CANARY.lower().encode()
    return sorted(str(path) for folder in folders for path in folder.rglob("*")
                  if path.is_file() and needle in _content(path).lower())


def test_no_command_writes_the_canary_in_the_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATATRAINER_PASSPHRASE", PASSPHRASE)
    ws, out = tmp_path / "ws", tmp_path / "out"
    out.mkdir()
    source = tmp_path / "in" / "records.jsonl"
    source.parent.mkdir()
    source.write_text("".join(json.dumps(row) + "\n" for row in _records()))

    def run(*args: str | Path) -> str:
        code, out, err = cli(capsys, monkeypatch, "-w", ws, *args)
        text = out + err
        assert code == 0, f"{args}: {text}"
        return text

    def refused(*args: str | Path) -> None:
        code, out, err = cli(capsys, monkeypatch, "-w", ws, *args)
        text = out + err
        lines = text.strip().splitlines()
        assert code == 1 and len(lines) == 1 and "--decrypt" in lines[0] and "encrypted" in lines[0], (args, text)

    assert cli(capsys, monkeypatch, "init", ws, "--encrypt")[0] == 0
    run("ingest", source, "--name", "docs")
    run("filter", "docs@1", "--where", "length(text) > 10", "--name", "long")
    run("dedup", "docs@1", "--method", "exact", "--name", "unique")
    run("quality", "metrics", "docs@1", "--lang", "none")
    run("quality", "report", "docs@1", "--lang", "none", "--out", out / "report.html")  # quotes worst records
    run("quality", "balance", "docs@1")
    run("quality", "filter", "docs@1", "--name", "clean")
    run("pii", "scan", "docs@1", "--types", "email,phone")
    run("pii", "redact", "docs@1", "--types", "email,phone", "--name", "redacted")
    run("pii", "redact", "docs@1", "--types", "email,phone", "--mode", "pseudonymise", "--name", "pseudo")
    run("embed", "docs@1", "--backend", "onnx")
    run("score", "density", "docs@1", "--backend", "onnx")
    run("sample", "docs@1", "--by", "random", "--budget", "5", "--name", "sample")
    run("coverage", "docs@1", "sample@1", "--clusters", "3")
    run("annotate", "create", "p", "--from", "docs@1", "--task", "classification", "--labels", "a,b")
    with Workspace.open(ws) as opened:  # an annotator's work and a review comment quoting the text
        annotator = users(opened, "ann")[0]
        opened.annotation.add_member(ADMIN, "p", "ann", "annotator")
        while (task := opened.annotation.next_task(annotator, "p")) is not None:
            opened.annotation.submit(annotator, task.id, {"labels": ["a"]})
            opened.annotation.review(ADMIN, task.id, "accept", comment=f"about: {task.payload['text']}")
    run("annotate", "export", "p", "--name", "labelled")
    run("scores", "show", "docs@1")
    run("datasets", "head", "docs@1")

    refused("export", "docs@1", "--out", out / "export", "-f", "jsonl")
    refused("annotate", "export", "p", "--format", "jsonl", "--out", out / "labels.jsonl")
    refused("scores", "export", "docs@1", "--scorer", "density", "--out", out / "density.jsonl")
    refused("quality", "metrics", "docs@1", "--records-out", out / "metrics.parquet")
    refused("audit", "export", "--out", out / "audit.jsonl")

    clear = tmp_path / "clear"  # exported deliberately: the scan must find the canary here
    run("export", "docs@1", "--out", clear / "export", "-f", "jsonl", "--decrypt")
    run("annotate", "export", "p", "--format", "jsonl", "--out", clear / "labels.jsonl", "--decrypt")
    run("scores", "export", "docs@1", "--scorer", "density", "--out", clear / "density.jsonl", "--decrypt")
    run("quality", "metrics", "docs@1", "--records-out", clear / "metrics.parquet", "--decrypt")
    run("audit", "export", "--out", clear / "audit.jsonl", "--decrypt")
    assert {str(clear / "export" / "data.jsonl"), str(clear / "audit.jsonl")} <= set(_leaks(clear))
    assert (clear / "labels.jsonl").exists() and (clear / "metrics.parquet").exists()

    with Workspace.open(ws) as opened:  # a reader holding the key sees the canary everywhere it was written
        assert CANARY in str(opened.version("docs@1").to_table(["text"]).to_pylist())
        entries = opened.audit.entries(limit=1000)
        assert CANARY in str([(e.before, e.after) for e in entries])  # review comments, sealed in the catalog
        decrypted = {e.entity_id for e in entries if e.action == "export.decrypt"}
        assert decrypted == {"docs@1", "project p", "docs@1 (density scores)", "docs@1 (per-record quality results)",
                             "the audit log"}
    assert _leaks(ws, out) == [], "\n".join(_leaks(ws, out))
    assert TEXT_LEFT_OUT in (out / "report.html").read_text()

    run("erase", "--value", CANARY)  # finds the canary through the sealed catalog columns too
    with Workspace.open(ws) as opened:
        assert CANARY not in str(opened.version("docs@1").to_table(["text"]).to_pylist())
        assert opened.annotation.progress(ADMIN, "p").total == 6
        assert CANARY not in str([(e.before, e.after) for e in opened.audit.entries(limit=1000)])
        assert opened.audit.verify().ok
    assert _leaks(ws) == [] and str(clear / "export" / "data.jsonl") not in _leaks(clear)  # rewritten in place


def _raw_catalog(ws: Workspace) -> bytes:
    """Every row of every table as the database returns it, without our column types."""
    from sqlalchemy import inspect, text

    with ws.catalog.engine.connect() as connection:
        tables = inspect(ws.catalog.engine).get_table_names()
        return repr([list(connection.execute(text(f'SELECT * FROM "{table}"'))) for table in tables]).encode()


def _annotated_project(ws: Workspace, tmp_path: Path) -> Any:
    """The canary records as `docs@1`, a classification project `p` on them and one submitted task."""
    source = tmp_path / "records.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in _records()))
    ws.ingest(source, "docs")
    ws.annotation.create_project(ADMIN, "p", "docs@1", "classification", ["a", "b"])
    annotator = users(ws, "ann")[0]
    ws.annotation.add_member(ADMIN, "p", "ann", "annotator")
    task = ws.annotation.next_task(annotator, "p")
    assert task is not None
    ws.annotation.submit(annotator, task.id, {"labels": ["a"]})
    return task


def test_encrypt_seals_the_catalog_in_place(tmp_path: Path, catalog_url: str | None,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A plaintext workspace's annotation texts and audit payloads are sealed by `encrypt_workspace` (and a
    second run seals nothing); the service reads them back unchanged, and without the key they do not open."""
    from datatrainer.errors import DatatrainerError
    from datatrainer.security import keys_columns
    from datatrainer.security.keys import new_provider
    from datatrainer.security.keys_encrypt import encrypt_workspace

    monkeypatch.setenv("DATATRAINER_PASSPHRASE", PASSPHRASE)
    with Workspace.init(tmp_path / "ws", db_url=catalog_url) as ws:
        task = _annotated_project(ws, tmp_path)
        ws.annotation.review(ADMIN, task.id, "accept", comment=f"see {CANARY}")
        before = ws.annotation.annotated_docs(ADMIN, "p", False)
        assert CANARY.encode() in _raw_catalog(ws)

        monkeypatch.setattr(keys_columns, "_PAGE", 2)  # several pages per column
        report = encrypt_workspace(ws, new_provider("passphrase"), "tester")
        assert report.catalog_values >= len(_records()) + 1  # every task, and the review's comment
        assert CANARY.encode() not in _raw_catalog(ws)
        if catalog_url is None:  # nor any free page or WAL frame of the SQLite file (vacuumed)
            assert _leaks(tmp_path / "ws") == []
        assert ws.annotation.annotated_docs(ADMIN, "p", False) == before
        assert encrypt_workspace(ws, None, "tester").catalog_values == 0
    monkeypatch.setenv("DATATRAINER_PASSPHRASE", "not the passphrase")
    with Workspace.open(tmp_path / "ws", catalog_url) as ws, pytest.raises(DatatrainerError, match="wrong passphrase"):
        ws.annotation.annotated_docs(ADMIN, "p", False)


def test_a_sealed_value_opens_only_in_its_own_column(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The column's name is authenticated with each sealed value: copied into another column (by someone with
    write access to the database), it fails to open with one line instead of passing for that column's data."""
    from sqlalchemy import text

    from datatrainer.errors import DatatrainerError
    from datatrainer.security.keys import new_provider

    monkeypatch.setenv("DATATRAINER_PASSPHRASE", PASSPHRASE)
    with Workspace.init(tmp_path / "ws") as ws:
        ws.keys.setup(new_provider("passphrase"))
        task = _annotated_project(ws, tmp_path)
        assert ws.annotation.annotated_docs(ADMIN, "p", False)  # opens
        with ws.catalog.engine.begin() as connection:
            connection.execute(text("UPDATE annotations SET result = (SELECT payload FROM annotation_tasks "
                                    "WHERE id = :task)"), {"task": task.id})
        with pytest.raises(DatatrainerError, match="moved from another column") as raised:
            ws.annotation.annotated_docs(ADMIN, "p", False)
        assert "\n" not in str(raised.value)
