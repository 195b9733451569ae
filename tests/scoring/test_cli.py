"""`datatrainer embed`, `score density` and `scores show/export`, run as a user would (subprocesses).

One workspace goes through the whole story (each CLI start costs seconds): embed, interrupted with Ctrl-C
and resumed; score density from the stored embeddings; list; export; and the error for a version that has
no density scores of its own.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from datatrainer.paragraphs import real_texts
from tests.cli.test_cli import ok, one_line_error, run
from tests.conftest import write_lines
from tests.scoring.interrupt import signal_when

pytest.importorskip("onnxruntime")
TEXTS = 120
SHARD = 8


def jsonl(path: Path, texts: list[str], prefix: str) -> Path:
    return write_lines(path, *[json.dumps({"id": f"{prefix}{i}", "text": t}) for i, t in enumerate(texts)])


def interrupted_embed(ws: Path, shards: Path) -> int:
    """Start `embed`, press Ctrl-C once a shard is stored; returns how many shards were kept."""
    process, stdout = signal_when(["-w", ws, "embed", "web@1", "--backend", "onnx", "--shard-rows", SHARD,
                                   "--batch-size", SHARD], lambda: bool(list(shards.glob("*/*.parquet"))),
                                  signal.SIGINT, timeout=60)
    assert process.returncode == 130, stdout
    assert "new embeddings are stored; run the same command to continue" in stdout
    return len(list(shards.glob("*/*.parquet")))


def test_embed_interrupt_resume_score_show_export(tmp_path: Path) -> None:
    texts = real_texts(TEXTS)
    ws = tmp_path / "ws"
    ok("init", ws)
    ok("-w", ws, "ingest", jsonl(tmp_path / "a.jsonl", texts, "a"), "--name", "web")
    ok("-w", ws, "ingest", jsonl(tmp_path / "b.jsonl", texts[:40], "b"), "--name", "subset")
    kept = interrupted_embed(ws, ws / "embeddings" / "all-MiniLM-L6-v2")
    assert 1 <= kept < TEXTS // SHARD
    assert f"embedded {TEXTS - SHARD * kept} texts" in ok("-w", ws, "embed", "web@1", "--backend", "onnx")

    out = ok("-w", ws, "score", "density", "web@1", "--backend", "onnx", "--rows", "64")  # stored embeddings
    assert f"scored {TEXTS} records of web@1" in out
    shown = ok("-w", ws, "scores", "show", "web@1")
    assert "density" in shown and "all-MiniLM-L6-v2" in shown and shown.count(f"{TEXTS}/{TEXTS}") == 2
    ok("-w", ws, "scores", "export", "web@1", "--scorer", "density", "--out", tmp_path / "d.jsonl")
    rows = [json.loads(line) for line in (tmp_path / "d.jsonl").read_text().splitlines()]
    assert [row["id"] for row in rows] == [f"a{i}" for i in range(TEXTS)]
    assert all(row["score"] >= 1 for row in rows) and len({row["config_hash"] for row in rows}) == 1
    ok("-w", ws, "scores", "export", "web@1", "--scorer", "density", "--out", tmp_path / "d.parquet")
    assert pq.read_table(tmp_path / "d.parquet").column_names == ["id", "score", "config_hash"]

    # subset@1 shares web@1's embeddings (same texts), but a density is a sum over one version's records.
    error = one_line_error(run("-w", ws, "scores", "export", "subset@1", "--scorer", "density", "--out",
                               tmp_path / "x.jsonl"))
    assert "no 'density' scores stored for subset@1" in error
