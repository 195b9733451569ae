"""The samplers wired to real MiniLM embeddings and density scores, computed and stored by the scoring jobs
(`datatrainer embed` / `score density`; the int8 ONNX MiniLM the `embed` extra ships): SemDeDup through the
`sample` operation removes planted near-copies of real news text, coverage of the result sees every record
close to a kept one, and the density sample is the inverse-propensity draw on the stored density scores."""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow.compute as pc
import pytest

from datatrainer.corpora import news_articles
from datatrainer.sampling.coverage_report import build_coverage_report
from datatrainer.scoring.jobs import ensure_embeddings, score_density
from datatrainer.scoring.propensity import inverse_propensity_sample
from datatrainer.scoring.race import RaceParams
from datatrainer.workspace import Workspace
from tests.quality.quality_helpers import make_version

ORIGINALS, COPIES = 60, 15


def test_samplers_on_minilm_embeddings_and_density(sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    texts = [article["text"][:300] for article in itertools.islice(news_articles(), ORIGINALS)]
    copies = [text.replace(" the ", " a ", 1) + " Officials confirmed it." for text in texts[:COPIES]]
    source = make_version(ws, [{"id": f"n{i:03d}", "text": text} for i, text in enumerate(texts + copies)],
                          name="news")
    embedding = ensure_embeddings(ws, source, "minilm", "onnx")

    result = ws.apply("sample", [source], {"by": "semdedup", "budget": "100%", "clusters": 6})
    kept = set(result.to_table(columns=["id"])["id"].to_pylist())
    for i in range(COPIES):
        assert len(kept & {f"n{i:03d}", f"n{ORIGINALS + i:03d}"}) == 1, i
    assert result.num_rows == ORIGINALS and result.info.params["embeddings_config"] == embedding.config_hash
    dropped = result.artifact("dropped").sort_by("id")
    pairs = {f"n{i:03d}": f"n{ORIGINALS + i:03d}" for i in range(COPIES)}
    pairs |= {copy: original for original, copy in pairs.items()}
    assert dropped["duplicate_of"].to_pylist() == [pairs[i] for i in dropped["id"].to_pylist()]
    assert pc.min(dropped["similarity"]).as_py() > 0.95

    report = build_coverage_report(ws, source, result, clusters=8)
    assert report.summary.cluster_coverage == 1.0 and report.summary.within_radius[0] == 1.0
    # Each removed copy's nearest kept record is its original, so the mean is their distances over all records.
    expected = (1 - np.array(dropped["similarity"].to_pylist())).sum() / (ORIGINALS + COPIES)
    assert report.summary.distance.mean == pytest.approx(expected, abs=1e-4)

    density_config = score_density(ws, source, embedding, RaceParams())
    density = ws.scores.scores_for(source, "density", density_config)["score"].to_numpy()
    duplicated = np.r_[np.ones(COPIES), np.zeros(ORIGINALS - COPIES), np.ones(COPIES)].astype(bool)
    assert density[duplicated].mean() > 1.2 * density[~duplicated].mean()  # a copy is a dense neighbourhood
    sample = ws.apply("sample", [source], {"by": "density", "budget": "40%", "seed": 7})
    drawn = np.sort(inverse_propensity_sample(density, 30, 7))
    assert sample.to_table(columns=["id"])["id"].to_pylist() == [f"n{i:03d}" for i in drawn]
    assert sample.info.params["scorer"] == "density" and sample.info.params["score_config"] == density_config
