"""Independent reference for measuring deduplication: exact Jaccard on plain Python shingle sets.

Nothing here shares code with the fast path: texts are normalised by the Arrow definition
(`normalize_text_arrow`, tested against plain Python), not by the C fast path; shingles are tuples of words,
sets are Python sets, and similarity is counted, not estimated. Tests and
`benchmarks/dedup.py` score every method (ours, datasketch, rensa) against these.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from itertools import combinations

import numpy as np
import pyarrow as pa

from datatrainer.quality.textnorm import normalize_text_arrow, words

Pair = tuple[int, int]


def reference_words(texts: pa.Array | pa.ChunkedArray, normalize: bool = True) -> list[list[str]]:
    """Each text's words (as `textnorm.words`), normalised first unless told otherwise; null texts have none."""
    filled = texts.fill_null("")
    return [w or [] for w in words(normalize_text_arrow(filled) if normalize else filled).to_pylist()]


def reference_shingles(word_lists: Iterable[list[str]], ngram: int = 3) -> list[set[tuple[str, ...]]]:
    """Word n-gram sets; a text shorter than n words is one shingle of all its words, an empty one none."""
    return [{tuple(w[i : i + ngram]) for i in range(max(1, len(w) - ngram + 1))} if w else set()
            for w in word_lists]


def jaccard(a: set[tuple[str, ...]], b: set[tuple[str, ...]]) -> float:
    """Exact Jaccard similarity; two empty sets are identical."""
    union = len(a | b)
    return len(a & b) / union if union else 1.0


def similar_pairs(sets: list[set[tuple[str, ...]]], threshold: float,
                  candidates: Iterable[Pair] | None = None) -> set[Pair]:
    """Pairs (i < j) with Jaccard >= threshold, among `candidates` or (brute force) among all pairs."""
    pairs = combinations(range(len(sets)), 2) if candidates is None else candidates
    return {(i, j) for i, j in pairs if jaccard(sets[i], sets[j]) >= threshold}


def planted_pairs(origin: np.ndarray) -> set[Pair]:
    """Every pair of rows in the same planted family (a source and all copies made from it, transitively)."""
    root = np.arange(len(origin))
    for row in range(len(origin)):
        source = row
        while origin[source] >= 0:
            source = int(origin[source])
        root[row] = source
    families: dict[int, list[int]] = defaultdict(list)
    for row, source in enumerate(root.tolist()):
        families[source].append(row)
    return {pair for members in families.values() for pair in combinations(members, 2)}


def cluster_pairs(labels: np.ndarray) -> set[Pair]:
    """Every pair of rows that share a cluster label."""
    clusters: dict[int, list[int]] = defaultdict(list)
    for row, label in enumerate(labels.tolist()):
        clusters[label].append(row)
    return {pair for members in clusters.values() if len(members) > 1 for pair in combinations(members, 2)}


def components(rows: int, pairs: Iterable[Pair]) -> np.ndarray:
    """Labels (smallest member) of the connected components of `pairs`: plain union-find, as a reference."""
    parent = list(range(rows))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in pairs:
        a, b = find(i), find(j)
        if a != b:
            parent[max(a, b)] = min(a, b)
    return np.array([find(x) for x in range(rows)], dtype=np.int64)


def recall_precision(found: set[Pair], truth: set[Pair]) -> tuple[float, float]:
    """Share of true pairs found, and share of found pairs that are true (1.0 when there are none)."""
    hits = len(found & truth)
    return (hits / len(truth) if truth else 1.0), (hits / len(found) if found else 1.0)
