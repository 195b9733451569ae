"""`kcenter`: k-center greedy (farthest-first traversal), the coverage sampler of Sener & Savarese (2018,
"Active Learning for Convolutional Neural Networks: A Core-Set Approach").

Starting from a row drawn with the seed, it repeatedly keeps the row farthest from everything kept so far.
What it keeps: a spread-out set whose covering radius (the largest distance from any row to its nearest
kept row) is at most twice the best possible for k rows (Gonzalez 1985), so no region of the embedding
space is left far from the sample; outliers are kept early. Each step is one vectorised distance update,
O(n d), so the whole run is O(n k d). The steps are matrix-vector products, memory-bound, so they run on
one BLAS thread: on this busy 2-core machine, 20,000 x 384 rows and k = 300 took 0.7 s on one thread and
2.5-3.1 s on two.

With `metric="cosine"` the distance is 1 - cosine similarity. Its order equals that of the Euclidean
(chordal) distance between unit vectors, |a - b| = sqrt(2 (1 - cos)), so the traversal, and the factor-2
guarantee, are those of the chordal metric.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from datatrainer.sampling.base import Sampler, SamplerInputs, Selection
from datatrainer.sampling.clustering import unit_rows

Metric = Literal["cosine", "l2"]


def farthest_first(x: np.ndarray, k: int, start: int, metric: Metric) -> tuple[np.ndarray, float]:
    """Rows in the order the traversal keeps them, and the covering radius of the k kept rows.

    Ties go to the lowest row index (np.argmax), so duplicates of kept rows are taken only once every other
    row is covered at distance 0.
    """
    points = unit_rows(x) if metric == "cosine" else x.astype(np.float32, copy=False)
    squares = np.einsum("ij,ij->i", points, points)

    def distance(row: int) -> np.ndarray:
        # Squared Euclidean (l2), or 1 - cosine on unit rows; clipped at 0 against rounding.
        similarity: np.ndarray = points @ points[row]
        raw = 1.0 - similarity if metric == "cosine" else squares - 2.0 * similarity + squares[row]
        return np.maximum(raw, 0.0, out=raw)

    order = np.empty(k, np.int64)
    order[0] = start
    nearest = distance(start)
    nearest[start] = -np.inf
    with threadpool_limits(1, user_api="blas"):
        for step in range(1, k):
            row = int(np.argmax(nearest))
            order[step] = row
            np.minimum(nearest, distance(row), out=nearest)
            nearest[row] = -np.inf
    radius = float(max(nearest.max(), 0.0)) if k < len(x) else 0.0
    return order, radius if metric == "cosine" else float(np.sqrt(radius))


class KCenterParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    metric: Metric = Field("cosine", description="cosine (1 - cosine similarity) or l2 (Euclidean) distance")


class KCenterSampler(Sampler[KCenterParams]):
    """Keeps a farthest-first traversal of the embeddings: the k rows that best cover the space."""

    name = "kcenter"
    params_model = KCenterParams
    needs = frozenset({"embeddings"})
    seeded = True

    def choose(self, inputs: SamplerInputs, k: int, seed: int) -> Selection:
        assert inputs.embeddings is not None
        start = int(np.random.default_rng(seed).integers(inputs.rows))
        order, radius = farthest_first(inputs.embeddings, k, start, self.params.metric)
        return Selection(np.sort(order), {"covering_radius": radius, "start": start})
