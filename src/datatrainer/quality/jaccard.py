"""Exact Jaccard similarity of row pairs over their hashed shingle sets.

LSH only proposes candidates; checking each candidate with its exact Jaccard (rather than the MinHash
estimate, whose standard error at 128 slots is ~0.04 near 0.7) makes the decision at the threshold exact
in both directions: no pair below the threshold is merged and none above it is lost once proposed. The
cost is proportional to the candidates, which are few on real data: `_kernels.pair_jaccard` puts both
rows' hashes in one small hash set, marking which side each came from, ~1 us a pair of 150-word texts. Two
texts share a shingle when their 64-bit hashes are equal; a false match between two ~150-shingle texts is a
1 in 10^15 event.
"""

from __future__ import annotations

import numpy as np

from datatrainer.quality.kernels import kernels
from datatrainer.quality.shingles import Shingles


def pair_jaccard(shingles: Shingles, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Exact Jaccard similarity (float64) of the shingle sets of rows left[k] and right[k], placeholders
    (`NO_SHINGLE`) ignored; two empty sets count as equal."""
    left = np.ascontiguousarray(left, dtype=np.int64)
    right = np.ascontiguousarray(right, dtype=np.int64)
    out = np.empty(len(left), dtype=np.float64)
    kernels.pair_jaccard(np.ascontiguousarray(shingles.hashes, dtype=np.uint64),
                         np.ascontiguousarray(shingles.offsets, dtype=np.int64), left, right, out)
    return out
