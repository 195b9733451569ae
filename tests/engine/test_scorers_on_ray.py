"""Scoring jobs on Ray: embeddings from an actor pool (MiniLM loaded once per actor) land in the same
content-hash store as a local run's, equal to float16 storage precision (abs 2e-3), and a second run computes
nothing; density from hashing tasks is exactly the local density (the same integer counters)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from datatrainer.scoring.density import density_on, density_scores
from datatrainer.scoring.jobs import DENSITY, EmbedderRequest, embed_version, score_density
from datatrainer.scoring.race import RaceParams
from datatrainer.workspace import Workspace
from tests.operations.examples import example_records

pytestmark = pytest.mark.slow
VECTOR_TOLERANCE = 2e-3  # float16 storage


def test_embeddings_and_density_on_ray_equal_local(sqlite_workspace: Workspace, tmp_path: Path,
                                                    ray_engine: Callable[[int], Any]) -> None:
    records = tmp_path / "records.jsonl"
    records.write_text("".join(json.dumps(row) + "\n" for row in example_records(48).to_pylist()))
    local_ws = sqlite_workspace
    with Workspace.init(tmp_path / "ray-ws") as ray_ws:
        local_version, ray_version = local_ws.ingest(records, "ex"), ray_ws.ingest(records, "ex")
        request = EmbedderRequest("minilm", "st")
        embedder = request.load()
        engine = ray_engine(1024)

        local_count = embed_version(local_ws, local_version, embedder)
        ray_count = embed_version(ray_ws, ray_version, embedder, shard_rows=16, engine=engine, request=request)
        assert ray_count == local_count == len(set(example_records(48)["text"].to_pylist()))
        assert embed_version(ray_ws, ray_version, embedder, engine=engine, request=request) == 0  # resumed: done

        ids, local_vectors = local_ws.embeddings.embeddings_for(local_version, embedder)
        ray_ids, ray_vectors = ray_ws.embeddings.embeddings_for(ray_version, embedder)
        assert ray_ids.equals(ids)
        np.testing.assert_allclose(ray_vectors, local_vectors, atol=VECTOR_TOLERANCE)

        sketch = RaceParams(rows=64, buckets=1024, concat=2, bandwidth=0.5)
        np.testing.assert_array_equal(density_on(engine, local_vectors, sketch),
                                      density_scores(local_vectors, sketch))
        hash_ = score_density(ray_ws, ray_version, ray_ws.embeddings.resolve(ray_version, embedder), sketch, engine)
        assert ray_ws.scores.scores_for(ray_version, DENSITY, hash_)["score"].null_count == 0
