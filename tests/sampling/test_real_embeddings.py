"""The samplers wired to real MiniLM embeddings (the int8 ONNX export the `embed` extra ships): SemDeDup
through the `sample` operation removes planted near-copies of real news text, and coverage of the result
sees every record within a small distance of a kept one."""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow.compute as pc
import pytest

from datatrainer.corpora import news_articles
from datatrainer.models.embedders import load_embedder
from datatrainer.sampling.coverage_report import build_coverage_report
from datatrainer.workspace import Workspace
from tests.quality.quality_helpers import make_version

ORIGINALS, COPIES = 60, 15


def test_semdedup_and_coverage_on_minilm_embeddings(sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    texts = [article["text"][:300] for article in itertools.islice(news_articles(), ORIGINALS)]
    copies = [text.replace(" the ", " a ", 1) + " Officials confirmed it." for text in texts[:COPIES]]
    source = make_version(ws, [{"id": f"n{i:03d}", "text": text} for i, text in enumerate(texts + copies)],
                          name="news")
    embedder = load_embedder("minilm", "onnx")
    hashes = source.to_table(columns=["content_hash", "text"])
    ws.embeddings.add(embedder.name, embedder.config_hash(), hashes["content_hash"].combine_chunks(),
                      embedder.embed(hashes["text"].combine_chunks()), embedder.config())

    result = ws.apply("sample", [source], {"by": "semdedup", "budget": "100%", "clusters": 6})
    kept = set(result.to_table(columns=["id"])["id"].to_pylist())
    for i in range(COPIES):
        assert len(kept & {f"n{i:03d}", f"n{ORIGINALS + i:03d}"}) == 1, i
    assert result.num_rows == ORIGINALS and result.info.params["embeddings_config"] == embedder.config_hash()
    dropped = result.artifact("dropped").sort_by("id")
    pairs = {f"n{i:03d}": f"n{ORIGINALS + i:03d}" for i in range(COPIES)}
    pairs |= {copy: original for original, copy in pairs.items()}
    assert dropped["duplicate_of"].to_pylist() == [pairs[i] for i in dropped["id"].to_pylist()]
    assert pc.min(dropped["similarity"]).as_py() > 0.95

    report = build_coverage_report(ws, source, result, clusters=8)
    assert report.summary.cluster_coverage == 1.0 and report.summary.within_radius[0] == 1.0
    assert report.summary.distance.max is not None and 0 < report.summary.distance.max < 0.05
    # Each removed copy's nearest kept record is its original, so the mean is their distances over all records.
    expected = (1 - np.array(dropped["similarity"].to_pylist())).sum() / (ORIGINALS + COPIES)
    assert report.summary.distance.mean == pytest.approx(expected, abs=1e-4)
