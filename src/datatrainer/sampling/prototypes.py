"""`prototypes`: SSL prototypes (Sorscher et al. 2022, "Beyond neural scaling laws: beating power law
scaling via data pruning").

Embeddings are clustered with k-means and each row is scored by its cosine distance to its cluster's
centroid. What it keeps: the k rows farthest from their centroids, the "hard" examples; the most
prototypical (easiest, most redundant) rows are dropped first. Sorscher et al. show this pays off when
data is abundant; Sachdeva et al. (2024) benchmark it as a coverage sampler for LLM pre-training.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from datatrainer.sampling.base import Sampler, SamplerInputs, Selection
from datatrainer.sampling.clustering import kmeans, unit_rows
from datatrainer.sampling.ranked import band_indices


class PrototypesParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    clusters: int | None = Field(None, ge=1, description="k-means clusters (default: about sqrt(n))")


def hardest(unit: np.ndarray, k: int, clusters: int | None, seed: int) -> tuple[np.ndarray, dict[str, float]]:
    """Row indices (sorted) of the k unit rows farthest from their k-means centroid; ties to earlier rows."""
    clustering = kmeans(unit, clusters, seed)
    kept = band_indices(clustering.distance, k, "high")
    return kept, {"clusters": clustering.count,
                  "min_kept_distance": float(clustering.distance[kept].min()) if k else 0.0}


class PrototypesSampler(Sampler[PrototypesParams]):
    """Keeps the k rows farthest from their k-means centroid (drops the most prototypical)."""

    name = "prototypes"
    params_model = PrototypesParams
    needs = frozenset({"embeddings"})

    def choose(self, inputs: SamplerInputs, k: int, seed: int) -> Selection:
        assert inputs.embeddings is not None
        kept, stats = hardest(unit_rows(inputs.embeddings), k, self.params.clusters, seed)
        return Selection(kept, stats)
