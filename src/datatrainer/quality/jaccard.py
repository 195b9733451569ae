"""Exact Jaccard similarity of row pairs over their hashed shingle sets, vectorised.

LSH only proposes candidates; checking each candidate with its exact Jaccard (rather than the MinHash
estimate, whose standard error at 128 slots is ~0.04 near 0.7) makes the decision at the threshold exact
in both directions: no pair below the threshold is merged and none above it is lost once proposed. The
cost is proportional to the candidates, which are few on real data.

For every pair, the shingles of both rows go into one row of a padded matrix, tagged with their side in
the lowest bit; sorting the matrix along its rows (many short sorts, which NumPy's SIMD sort does far
faster than one long sort) lines up equal shingles, so the union is the number of distinct values and the
intersection the number of values seen from both sides. Pairs are grouped into width classes (four per
doubling) so that padding adds at most a quarter to the work. Hashes are truncated to 40 bits: a false
shared shingle between two ~150-shingle documents is a 1 in 10^7 event, far below any threshold's
resolution.
"""

from __future__ import annotations

import numpy as np

from datatrainer.quality.shingles import NO_SHINGLE, Shingles

_HASH_SHIFT = np.uint64(64 - 40)
_PADDING = np.uint64(0xFFFFFFFFFFFFFFFF)


def _within(lengths: np.ndarray) -> np.ndarray:
    """0..length-1 for each length, concatenated."""
    ends = np.cumsum(lengths)
    within: np.ndarray = np.arange(int(ends[-1]) if len(ends) else 0) - np.repeat(ends - lengths, lengths)
    return within


def _ranges(offsets: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices of the concatenated ranges offsets[r]:offsets[r + 1] for r in rows, and their lengths."""
    starts, lengths = offsets[rows], offsets[rows + 1] - offsets[rows]
    return np.repeat(starts, lengths) + _within(lengths), lengths


def _tagged(shingles: Shingles, rows: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """Keys `hash40 << 1 | side` of the rows' slots (placeholders become padding) and the slot counts."""
    flat, lengths = _ranges(shingles.offsets, rows)
    hashes = np.asarray(shingles.hashes[flat])
    keys = ((hashes >> _HASH_SHIFT) << np.uint64(1)) | np.uint64(side)
    keys[hashes == NO_SHINGLE] = _PADDING
    return keys, lengths


def _similarity(shingles: Shingles, left: np.ndarray, right: np.ndarray, width: int) -> np.ndarray:
    """Jaccard of pairs whose slots all fit in `width` columns."""
    left_keys, left_lengths = _tagged(shingles, left, 0)
    right_keys, right_lengths = _tagged(shingles, right, 1)
    matrix = np.full((len(left), width), _PADDING, dtype=np.uint64)
    base = np.arange(len(left), dtype=np.int64) * width
    flat = matrix.reshape(-1)
    flat[np.repeat(base, left_lengths) + _within(left_lengths)] = left_keys
    flat[np.repeat(base + left_lengths, right_lengths) + _within(right_lengths)] = right_keys
    matrix.sort(axis=1)
    values = matrix >> np.uint64(1)
    present = matrix != _PADDING
    fresh = np.ones_like(present)
    np.not_equal(values[:, 1:], values[:, :-1], out=fresh[:, 1:])
    union = (fresh & present).sum(axis=1)
    both = (values[:, 1:] == values[:, :-1]) & ((matrix[:, 1:] & np.uint64(1)) > (matrix[:, :-1] & np.uint64(1)))
    shared = (both & present[:, 1:]).sum(axis=1)
    return np.where(union > 0, shared / np.maximum(union, 1), 1.0)


def pair_jaccard(shingles: Shingles, left: np.ndarray, right: np.ndarray, cells: int = 1 << 22) -> np.ndarray:
    """Exact Jaccard similarity (float64) of the shingle sets of rows left[k] and right[k]; two empty sets
    count as equal. Works on pairs of one width class at a time, at most `cells` matrix cells (32 MB)."""
    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    slots = np.diff(shingles.offsets)
    total = slots[left] + slots[right]
    # Widths rounded up to a quarter of their power of two: at most 4 classes per doubling, <= 25% padding.
    total = np.maximum(total, 8)
    quarter = np.left_shift(1, np.floor(np.log2(total)).astype(np.int64) - 2)
    widths = -(-total // quarter) * quarter
    out = np.empty(len(left), dtype=np.float64)
    for width in np.unique(widths):
        members = np.flatnonzero(widths == width)
        block = max(1, cells // int(width))
        for start in range(0, len(members), block):
            chosen = members[start : start + block]
            out[chosen] = _similarity(shingles, left[chosen], right[chosen], int(width))
    return out
