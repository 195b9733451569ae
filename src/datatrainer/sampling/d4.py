"""`d4`: D4, "Document De-Duplication and Diversification" (Tirumala et al. 2023, "D4: Improving LLM
Pretraining via Document De-Duplication and Diversification").

SemDeDup first (k-means, drop rows whose cosine similarity to a kept row of their cluster exceeds
1 - eps), then SSL prototypes on what survives, re-clustered with fresh k-means: keep the k survivors
farthest from their new centroids. What it keeps: no near-duplicates, and among the rest the least
prototypical rows. Re-clustering matters: after deduplication, the dense duplicate-driven clusters are
gone and the centroids move (the paper's ablation). If fewer than k rows survive deduplication, it keeps
them all and says so (`short_of_budget`).
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from datatrainer.sampling.base import Sampler, SamplerInputs, Selection
from datatrainer.sampling.prototypes import hardest
from datatrainer.sampling.semdedup import SemDeDupParams, dedup_stats, semantic_dedup


class D4Params(SemDeDupParams):
    prototype_clusters: int | None = Field(
        None, ge=1, description="k-means clusters for the prototypes step (default: about sqrt(survivors))")


class D4Sampler(Sampler[D4Params]):
    """Keeps the k least prototypical rows among those SemDeDup keeps."""

    name = "d4"
    params_model = D4Params
    needs = frozenset({"embeddings"})
    exact_budget = False

    def choose(self, inputs: SamplerInputs, k: int, seed: int) -> Selection:
        assert inputs.embeddings is not None
        unit, duplicates, clustering = semantic_dedup(inputs.embeddings, self.params.clusters, self.params.eps,
                                                      seed)
        survivors = duplicates.survivors
        budget = min(k, len(survivors))
        kept, proto_stats = hardest(unit[survivors], budget, self.params.prototype_clusters, seed)
        stats = {**dedup_stats(duplicates, clustering), "prototype_clusters": proto_stats["clusters"],
                 "min_kept_distance": proto_stats["min_kept_distance"]}
        return Selection(survivors[kept].astype(np.int64), stats, duplicates)
