"""MinHash signatures and LSH banding over whole batches, in NumPy.

Signatures use one-permutation hashing (OPH) with optimal densification (Shrivastava, ICML 2017): each
shingle hash goes to one of `num_perm` bins by its high bits and the bin keeps the smallest low 32 bits;
empty bins copy the value of the first non-empty bin along a fixed pseudo-random probe sequence shared by
all documents. Two documents then agree in a slot with probability equal to their Jaccard similarity, as
with `num_perm` independent permutations, but the cost is one pass over the shingles instead of
`num_perm`, which is what makes it affordable in NumPy (~1 us a document for 128 slots).

Why not rensa's bulk digest? It is fast, but its digest matrix has no buffer interface and `to_rows()`
builds Python lists (~10 us a row), which costs more than this whole module per document.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from datatrainer.quality.shingles import Shingles, mix64

EMPTY = np.uint32(0xFFFFFFFF)
_PROBE_ROUNDS = 12  # random probes before falling back to the next non-empty bin on the right
_U64 = np.uint64


@cache
def _probe_offsets(num_perm: int, seed: int) -> np.ndarray:
    """The fixed probe sequence, as offsets: row k gives, for every bin j, (bin borrowed from at attempt k)
    minus j, so that a hole's flat index plus its offset is the flat index to read."""
    probes = np.random.default_rng([seed, num_perm]).integers(0, num_perm, (_PROBE_ROUNDS, num_perm))
    offsets: np.ndarray = probes - np.arange(num_perm)
    return offsets


def signatures(shingles: Shingles, num_perm: int, seed: int) -> np.ndarray:
    """One uint32 MinHash signature of `num_perm` slots per row; rows without shingles are all EMPTY.
    Placeholder slots (`NO_SHINGLE`) have EMPTY low bits, so they leave every bin unchanged."""
    slots = shingles.slots
    rows = len(slots)
    hashes = shingles.hashes
    if num_perm & (num_perm - 1) == 0:  # a power of two: the top bits are the bin
        bins = hashes >> _U64(64 - num_perm.bit_length() + 1)
    else:
        bins = ((hashes >> _U64(32)) * _U64(num_perm)) >> _U64(32)
    keys = np.repeat(np.arange(0, rows * num_perm, num_perm, dtype=np.int64), slots)
    keys += bins.astype(np.int64)
    flat = np.full(rows * num_perm, EMPTY, dtype=np.uint32)
    np.minimum.at(flat, keys, hashes.astype(np.uint32))
    signature = flat.reshape(rows, num_perm)
    _densify(signature, seed)
    return signature


def _densify(signature: np.ndarray, seed: int) -> None:
    """Fill empty bins in place (see the module docstring). Values are looked up in the signature before
    any filling and written back once at the end; flat indices throughout, since 1-D gathers are several
    times faster than 2-D ones. Rows without shingles stay EMPTY."""
    width = signature.shape[1]
    flat = signature.reshape(-1)
    holes = np.flatnonzero(flat == EMPTY)
    columns = holes & (width - 1) if width & (width - 1) == 0 else holes % width
    offsets = _probe_offsets(width, seed)
    values = flat[holes + offsets[0][columns]]
    pending = np.flatnonzero(values == EMPTY)
    for offset in offsets[1:]:
        if not pending.size:
            break
        found = flat[holes[pending] + offset[columns[pending]]]
        values[pending] = found
        pending = pending[found == EMPTY]
    if pending.size:
        # Rows with very few shingles: continue the probe sequence with bins j+1, j+2, ... (wrapping).
        stuck, inverse = np.unique(holes[pending] // width, return_inverse=True)
        index = np.where(signature[stuck] != EMPTY, np.arange(width), 2 * width)
        next_right = np.minimum.accumulate(index[:, ::-1], axis=1)[:, ::-1]
        source = np.where(next_right < width, next_right, next_right[:, :1])  # 2 * width: an empty row
        row_values = np.concatenate((signature[stuck], np.full((len(stuck), 1), EMPTY)), axis=1)
        values[pending] = row_values[inverse, np.minimum(source[inverse, columns[pending]], width)]
    flat[holes] = values


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
    """A uint64 hash per row and band (shape rows x bands) of the band's `rows` signature slots."""
    slots = signature[:, : bands * rows].reshape(len(signature), bands, rows).astype(np.uint64)
    combined = np.zeros((len(signature), bands), dtype=np.uint64)
    for row in range(rows):
        combined *= _U64(0x9E3779B97F4A7C15)
        combined += slots[:, :, row]
    return mix64(combined)


def candidate_pairs(column: np.ndarray) -> np.ndarray:
    """Pairs (i < j) of rows sharing a bucket in one band, as an (m, 2) int64 array.

    The row number is packed into the low bits of the band hash, so one plain sort (much faster than an
    argsort) groups buckets with their rows ascending. Dropping those bits from the hash merges buckets
    only with probability ~rows^2 / 2^(64 - bits) per band; such pairs fail the exact check anyway.
    A bucket of k rows yields its star (first member with each other) and its chain (consecutive members):
    2k edges instead of k^2/2, which keeps a bucket of many exact copies cheap, while a member similar to
    another but not to the first is still linked through the chain.
    """
    rows = len(column)
    bits = max(1, (rows - 1).bit_length())
    low = _U64((1 << bits) - 1)
    keys = (column & ~low) | np.arange(rows, dtype=np.uint64)
    keys.sort()
    bucket = keys >> _U64(bits)
    same = bucket[1:] == bucket[:-1]
    if not same.any():
        return np.zeros((0, 2), dtype=np.int64)
    order = (keys & low).astype(np.int64)
    new_bucket = np.concatenate(([True], ~same))
    first = order[new_bucket][np.cumsum(new_bucket) - 1]  # first member of each position's bucket
    chain = np.column_stack((order[:-1][same], order[1:][same]))
    star = np.column_stack((first[1:][same], chain[:, 1]))
    return np.concatenate((chain, star[star[:, 0] != chain[:, 0]]))
