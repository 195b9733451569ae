"""ScoreStore and EmbeddingStore: keyed by content hash, resumable, aligned to versions, atomic shards."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.json as pj
import pyarrow.parquet as pq
import pytest

from datatrainer.errors import DatatrainerError, NotFoundError
from datatrainer.scoring.export import export_scores
from datatrainer.scoring.shards import ShardFolder
from datatrainer.workspace import Workspace
from tests.scoring.helpers import ingest_texts

TEXTS = [f"document number {i} about topic {i % 5}" for i in range(40)]


def fake_score(hashes: pa.Array) -> np.ndarray:
    """A deterministic score per content hash, so any misalignment shows."""
    return np.array([int(h[:8], 16) / 2**32 for h in hashes.to_pylist()])


def test_resume_computes_only_missing(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    ws = sqlite_workspace
    version = ingest_texts(ws, tmp_path, "web", TEXTS)
    missing = ws.scores.missing(version, "quality", "abc")
    assert len(missing) == 40
    first_half = missing.slice(0, 20)
    ws.scores.add("quality", "abc", first_half, fake_score(first_half), {"prompt": "p"})  # then "interrupted"
    rest = ws.scores.missing(version, "quality", "abc")
    assert set(rest.to_pylist()) == set(missing.to_pylist()) - set(first_half.to_pylist())
    ws.scores.add("quality", "abc", rest, fake_score(rest), {"prompt": "p"})
    assert len(ws.scores.missing(version, "quality", "abc")) == 0
    table = ws.scores.scores_for(version, "quality")
    assert table.column_names == ["id", "content_hash", "score"]
    assert table["id"].to_pylist() == version.to_table(["id"])["id"].to_pylist()
    np.testing.assert_array_equal(table["score"].to_numpy(), fake_score(table["content_hash"].combine_chunks()))
    assert table.schema.metadata[b"config_hash"] == b"abc"
    (computed,) = ws.scores.computed(version)
    assert (computed.config.name, computed.covered, computed.records, computed.complete) == ("quality", 40, 40, True)
    assert computed.config.params == {"prompt": "p"}


def test_pending_reads_each_missing_text_once_in_batches(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    ws = sqlite_workspace
    texts = TEXTS[:10] + TEXTS[:10] + TEXTS[10:25]  # 25 distinct texts, 10 of them twice
    version = ingest_texts(ws, tmp_path, "dup", texts)
    done = ws.scores.missing(version, "s", "1").slice(0, 5)
    ws.scores.add("s", "1", done, np.zeros(5), {})
    batches = list(ws.scores.pending(version, "s", "1", batch_rows=7))
    assert [batch.num_rows for batch in batches] == [7, 7, 6]
    seen = pa.concat_tables(batches)
    assert seen.column_names == ["content_hash", "text"]
    assert sorted(seen["content_hash"].to_pylist()) == sorted(ws.scores.missing(version, "s", "1").to_pylist())
    assert set(seen["text"].to_pylist()) == set(texts) - set(TEXTS[:5])


def test_versions_sharing_records_share_the_cache(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    ws = sqlite_workspace
    v1 = ingest_texts(ws, tmp_path, "web", TEXTS)
    hashes = ws.scores.missing(v1, "quality", "abc")
    ws.scores.add("quality", "abc", hashes, fake_score(hashes), {})
    v2 = ingest_texts(ws, tmp_path, "other", TEXTS[::-1][:30] + ["a new text"], prefix="x")
    assert ws.scores.missing(v2, "quality", "abc").to_pylist() == v2.to_table(["content_hash"])[-1:][0].to_pylist()
    table = ws.scores.scores_for(v2, "quality")
    assert table["score"].null_count == 1 and table["id"].to_pylist()[:2] == ["x0", "x1"]
    subset = ws.apply("filter", [v1], {"where": "id <> 'r3'"})
    assert ws.scores.scores_for(subset, "quality")["score"].null_count == 0


def test_duplicate_texts_get_one_score(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    ws = sqlite_workspace
    version = ingest_texts(ws, tmp_path, "dup", ["same text", "other", "same text"])
    hashes = ws.scores.missing(version, "s", "f00")
    assert len(hashes) == 2
    ws.scores.add("s", "f00", hashes, [1.0, 2.0], {})
    scores = ws.scores.scores_for(version, "s")["score"].to_pylist()
    assert scores[0] == scores[2] and scores[0] != scores[1]


def test_scoped_scores_are_offered_to_their_version_only(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    ws = sqlite_workspace
    v1 = ingest_texts(ws, tmp_path, "web", TEXTS)
    hashes = ws.scores.missing(v1, "density", "d1")
    ws.scores.add("density", "d1", hashes, np.ones(len(hashes)), {"version": "v1"}, scope=v1)
    v2 = ws.apply("filter", [v1], {"where": "id <> 'r3'"})
    with pytest.raises(NotFoundError, match="no 'density' scores stored for web@2"):
        ws.scores.scores_for(v2, "density")
    assert [c.config.config_hash for c in ws.scores.computed(v1)] == ["d1"]
    assert ws.scores.computed(v2) == []
    with pytest.raises(DatatrainerError, match="scope"):
        ws.scores.add("density", "d1", hashes[:1], np.ones(1), {}, scope=v2)


def test_choosing_a_config(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    ws = sqlite_workspace
    version = ingest_texts(ws, tmp_path, "web", TEXTS)
    hashes = ws.scores.missing(version, "s", "aaaa")
    ws.scores.add("s", "aaaa", hashes[:10], np.zeros(10), {"n": 1})
    ws.scores.add("s", "bbbb", hashes, np.ones(40), {"n": 2})
    assert ws.scores.scores_for(version, "s").schema.metadata[b"config_hash"] == b"bbbb"  # covers most
    assert ws.scores.scores_for(version, "s", "aa")["score"].null_count == 30  # a prefix selects
    with pytest.raises(NotFoundError, match="with config cc"):
        ws.scores.scores_for(version, "s", "cc")
    with pytest.raises(DatatrainerError, match="invalid cache name"):
        ws.scores.missing(version, "../escape", "aaaa")
    assert {c.config_hash: c.params for c in ws.scores.configs("s")} == {"aaaa": {"n": 1}, "bbbb": {"n": 2}}


def test_embeddings_round_trip_aligned(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    ws = sqlite_workspace
    version = ingest_texts(ws, tmp_path, "web", TEXTS + TEXTS[:3])
    hashes = ws.embeddings.missing(version, "toy", "e1")
    vectors = np.random.default_rng(0).standard_normal((len(hashes), 8)).astype(np.float32)
    meta = {"model": "toy-model", "aliases": ["toy"]}
    for start in range(0, len(hashes), 16):  # three shards, as three finished batches
        ws.embeddings.add("toy", "e1", hashes[start:start + 16], vectors[start:start + 16], meta)
    assert len(list((ws.root / "embeddings" / "toy" / "e1").glob("*.npy"))) == 3
    ids, matrix = ws.embeddings.embeddings_for(version, "toy")
    assert ids.to_pylist() == version.to_table(["id"])["id"].to_pylist()
    assert matrix.dtype == np.float32 and matrix.shape == (43, 8)
    by_hash = dict(zip(hashes.to_pylist(), vectors.astype(np.float16).astype(np.float32), strict=True))
    expected = np.stack([by_hash[h] for h in version.to_table(["content_hash"])["content_hash"].to_pylist()])
    np.testing.assert_array_equal(matrix, expected)
    for selector in ("toy-model", "e1", "e"):
        assert ws.embeddings.resolve(version, selector).config_hash == "e1"
    bigger = ingest_texts(ws, tmp_path, "bigger", [*TEXTS, "unseen"])
    with pytest.raises(NotFoundError, match="1 of 41 records of bigger@1 have no toy embeddings"):
        ws.embeddings.embeddings_for(bigger, "toy")


def test_an_interrupted_shard_write_leaves_nothing_visible(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    ws = sqlite_workspace
    folder = ShardFolder(ws.root / "scores" / "s" / "x", ws.root / "tmp")

    def crash(path: Path) -> None:
        path.write_bytes(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        folder.publish(pa.table({"content_hash": ["a"]}), [(".npy", crash)])
    assert folder.files() == [] and list((ws.root / "tmp").iterdir()) == []


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_export_has_one_row_per_record(sqlite_workspace: Workspace, tmp_path: Path, suffix: str) -> None:
    ws = sqlite_workspace
    version = ingest_texts(ws, tmp_path, "web", TEXTS)
    hashes = ws.scores.missing(version, "s", "abc")
    ws.scores.add("s", "abc", hashes[:-1], fake_score(hashes[:-1]), {})
    out = tmp_path / f"scores{suffix}"
    assert export_scores(ws.scores.scores_for(version, "s"), out) == 40
    table = pj.read_json(out) if suffix == ".jsonl" else pq.read_table(out)
    assert table["id"].to_pylist() == [f"r{i}" for i in range(40)]
    assert set(table["config_hash"].to_pylist()) == {"abc"} and table["score"].null_count == 1
    with pytest.raises(DatatrainerError, match="unknown score file type"):
        export_scores(ws.scores.scores_for(version, "s"), tmp_path / "scores.csv")
