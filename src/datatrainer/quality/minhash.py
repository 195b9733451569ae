"""MinHash signatures, LSH band hashes and buckets over whole batches (loops in C, `_kernels`).

Signatures use one-permutation hashing (OPH) with optimal densification (Shrivastava, ICML 2017): each
shingle hash goes to one of `num_perm` bins by its high bits and the bin keeps the smallest low 32 bits;
empty bins copy the value of the first non-empty bin along a fixed pseudo-random probe sequence shared by
all documents (12 probes, then the next non-empty bin to the right). Two documents then agree in a slot
with probability equal to their Jaccard similarity, as with `num_perm` independent permutations, but the
cost is one pass over the shingles instead of `num_perm` (`_kernels.signatures`, ~0.4 us a 150-word text).

Why not rensa's bulk digest? It is fast, but its digest matrix has no buffer interface and `to_rows()`
builds Python lists (~6 us a row), which costs more than the whole sketch per document.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from datatrainer.quality.kernels import kernels
from datatrainer.quality.shingles import Shingles

EMPTY = np.uint32(0xFFFFFFFF)
_PROBE_ROUNDS = 12  # random probes before falling back to the next non-empty bin on the right


@cache
def _probes(num_perm: int, seed: int) -> np.ndarray:
    """The fixed probe sequence: row k gives, for every bin, the bin it borrows from at attempt k."""
    probes: np.ndarray = np.random.default_rng([seed, num_perm]).integers(0, num_perm, (_PROBE_ROUNDS, num_perm))
    return probes.astype(np.int64)


def signatures(shingles: Shingles, num_perm: int, seed: int) -> np.ndarray:
    """One uint32 MinHash signature of `num_perm` slots per row; rows without shingles are all EMPTY.
    Placeholder slots (`NO_SHINGLE`) are skipped."""
    signature = np.empty((len(shingles.offsets) - 1, num_perm), dtype=np.uint32)
    kernels.signatures(np.ascontiguousarray(shingles.hashes, dtype=np.uint64),
                       np.ascontiguousarray(shingles.offsets, dtype=np.int64), num_perm, _probes(num_perm, seed),
                       signature)
    return signature


@cache
def lsh_bands(threshold: float, num_perm: int, false_positive_weight: float = 0.5,
              false_negative_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows per band) minimising the weighted areas under the LSH S-curve on the wrong side of the
    threshold, as datasketch's MinHashLSH chooses them (integrated numerically, all shapes at once)."""
    similarity = np.linspace(0.0, 1.0, 2001)
    best: tuple[float, int, int] = (np.inf, 1, 1)
    below, above = similarity <= threshold, similarity >= threshold
    for bands in range(1, num_perm + 1):
        rows = np.arange(1, num_perm // bands + 1)
        candidate = 1.0 - (1.0 - similarity[None, :] ** rows[:, None]) ** bands
        false_positive = np.trapezoid(np.where(below, candidate, 0.0), similarity, axis=1)
        false_negative = np.trapezoid(np.where(above, 1.0 - candidate, 0.0), similarity, axis=1)
        error = false_positive_weight * false_positive + false_negative_weight * false_negative
        pick = int(np.argmin(error))
        if error[pick] < best[0]:
            best = (float(error[pick]), bands, int(rows[pick]))
    return best[1], best[2]


def band_hashes(signature: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """A uint64 hash per row and band (shape rows x bands) of the band's `rows` signature slots: the slots
    folded with an odd multiplier, then the splitmix64 finaliser (`_kernels.band_hashes`)."""
    signature = np.ascontiguousarray(signature, dtype=np.uint32)
    out = np.empty((len(signature), bands), dtype=np.uint64)
    kernels.band_hashes(signature, signature.shape[1], bands, rows, out)
    return out


def candidate_pairs(band_matrix: np.ndarray) -> np.ndarray:
    """Distinct pairs (i < j) of rows sharing a bucket in at least one band (the columns of the rows x bands
    `band_matrix`), as an (m, 2) int64 array, from one hash-table pass per band (`_kernels.band_pairs`).

    A bucket of k rows yields its star (first member with each other) and its chain (consecutive members):
    2k edges instead of k^2/2, which keeps a bucket of many exact copies cheap, while a member similar to
    another but not to the first is still linked through the chain.
    """
    matrix = np.ascontiguousarray(band_matrix, dtype=np.uint64)
    found = kernels.band_pairs(matrix, matrix.shape[1] if matrix.ndim == 2 else 1)
    return np.frombuffer(found, dtype=np.int64).reshape(-1, 2)
