"""`semdedup`: SemDeDup (Abbas et al. 2023, "SemDeDup: Data-efficient learning at web-scale through semantic
deduplication").

Embeddings are clustered with k-means; within each cluster, rows are visited from the farthest from the
centroid to the nearest (the paper keeps the least prototypical member of a duplicate group), and a row
is removed when its cosine similarity to an already kept row of its cluster exceeds 1 - eps. What it
keeps: one representative of every group of semantic near-duplicates, and every row that has none. If
more than k rows survive, k of them are drawn uniformly with the seed; if fewer survive, it keeps them
all and says so (`short_of_budget`): it never keeps a duplicate to fill the budget.

A row is compared with the rows kept before it, as the paper describes, so a chain a ~ b ~ c where a and c
are not similar keeps a and c (the released code's shortcut, comparing with every earlier row, would drop
c because of the dropped b). Kept rows never exceed the threshold with one another either way.

Only pairs in the same cluster are compared, so the work is about n^2 / clusters similarity products,
done cluster by cluster in blocks of bounded size.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from datatrainer.sampling.base import Duplicates, Sampler, SamplerInputs, Selection
from datatrainer.sampling.clustering import Clustering, kmeans, unit_rows

_BLOCK_CELLS = 4_000_000  # similarity entries computed at once (16 MB of float32)
_UNDECIDED, _KEPT, _DROPPED = 0, 1, 2


class SemDeDupParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    clusters: int | None = Field(None, ge=1, description="k-means clusters (default: about sqrt(n))")
    eps: float = Field(0.05, gt=0, le=1, description="rows with cosine similarity above 1 - eps are duplicates")


def dedup_stats(duplicates: Duplicates, clustering: Clustering) -> dict[str, int]:
    survivors = len(duplicates.survivors)
    return {"clusters": clustering.count, "duplicates": len(duplicates.duplicate_of) - survivors,
            "survivors": survivors}


def _similar_pairs(unit: np.ndarray, clustering: Clustering, threshold: float) -> tuple[np.ndarray, ...]:
    """Every pair (earlier, later, similarity) of one cluster with similarity > threshold, where earlier
    means farther from the centroid (ties: lower row index)."""
    rows = np.arange(len(unit))
    order = np.lexsort((rows, -clustering.distance, clustering.labels))
    bounds = np.flatnonzero(np.diff(clustering.labels[order])) + 1
    firsts, seconds, similarities = [], [], []
    for members in np.split(order, bounds):
        if len(members) < 2:
            continue
        vectors = unit[members]
        step = max(1, _BLOCK_CELLS // len(members))
        for start in range(0, len(members) - 1, step):
            block = vectors[start:start + step] @ vectors.T
            # Only pairs (i, j) with j after i in the visiting order.
            block[np.arange(block.shape[1]) <= np.arange(start, start + len(block))[:, None]] = -np.inf
            i, j = np.nonzero(block > threshold)
            firsts.append(members[start + i])
            seconds.append(members[j])
            similarities.append(block[i, j])
    if not firsts:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32)
    return np.concatenate(firsts), np.concatenate(seconds), np.concatenate(similarities)


def find_duplicates(unit: np.ndarray, clustering: Clustering, eps: float) -> Duplicates:
    """Visit each cluster in order and drop rows too similar to a kept row, vectorised over pairs.

    Sequential greedy in disguise: in each round, a row all of whose earlier similar rows are decided is
    dropped if one of them is kept, else kept. The earliest undecided row of every group is always
    decidable, so rounds end; their number is the longest chain of similar rows, small in practice.
    """
    n = len(unit)
    first, second, similarity = _similar_pairs(unit, clustering, 1.0 - eps)
    state = np.full(n, _UNDECIDED, np.int8)
    state[np.bincount(second, minlength=n) == 0] = _KEPT
    while (undecided := state == _UNDECIDED).any():
        before = state[first]
        has_kept = np.bincount(second[before == _KEPT], minlength=n) > 0
        has_open = np.bincount(second[before == _UNDECIDED], minlength=n) > 0
        state[undecided & has_kept] = _DROPPED
        state[undecided & ~has_kept & ~has_open] = _KEPT
    duplicate_of = np.full(n, -1, np.int64)
    closest = np.full(n, np.nan, np.float32)
    links = (state[first] == _KEPT) & (state[second] == _DROPPED)
    dropped, kept, value = second[links], first[links], similarity[links]
    order = np.lexsort((value, dropped))  # per dropped row, its most similar kept row comes last
    last = np.r_[dropped[order][1:] != dropped[order][:-1], True] if len(order) else np.empty(0, bool)
    duplicate_of[dropped[order][last]] = kept[order][last]
    closest[dropped[order][last]] = value[order][last]
    return Duplicates(duplicate_of, closest, 1.0 - eps)


def semantic_dedup(embeddings: np.ndarray, clusters: int | None, eps: float, seed: int
                   ) -> tuple[np.ndarray, Duplicates, Clustering]:
    """Unit rows, their near-duplicates, and the clustering used to find them."""
    unit = unit_rows(embeddings)
    clustering = kmeans(unit, clusters, seed)
    return unit, find_duplicates(unit, clustering, eps), clustering


class SemDeDupSampler(Sampler[SemDeDupParams]):
    """Keeps one row per group of semantic near-duplicates (at most k, drawn uniformly if more survive)."""

    name = "semdedup"
    params_model = SemDeDupParams
    needs = frozenset({"embeddings"})
    exact_budget = False
    seeded = True

    def choose(self, inputs: SamplerInputs, k: int, seed: int) -> Selection:
        assert inputs.embeddings is not None
        _, duplicates, clustering = semantic_dedup(inputs.embeddings, self.params.clusters, self.params.eps, seed)
        survivors = duplicates.survivors
        if len(survivors) > k:
            survivors = np.sort(np.random.default_rng(seed).choice(survivors, size=k, replace=False))
        return Selection(survivors.astype(np.int64), dedup_stats(duplicates, clustering), duplicates)
