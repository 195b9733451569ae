"""A set of 64-bit hashes at 8 bytes per member, for duplicate-id checks over unbounded inputs.

A Python set of ints costs about 80 bytes per member, which made ingest memory grow with the input. Here
members live in sorted NumPy runs; a new run merges into the one before once it is as large (a binary
counter, as in a log-structured merge tree), so there are O(log n) runs and each merge is a linear-time
merge of two sorted runs (timsort finds the two runs). Lookups sort the probes once, which makes the
binary searches cache-friendly.
"""

from __future__ import annotations

import numpy as np


class HashSet64:
    def __init__(self) -> None:
        self._runs: list[np.ndarray] = []

    def __len__(self) -> int:
        return sum(len(run) for run in self._runs)

    def contains(self, values: np.ndarray) -> np.ndarray:
        """A boolean mask: which of `values` are members."""
        found = np.zeros(len(values), dtype=bool)
        if not self._runs or len(values) == 0:
            return found
        order = np.argsort(values, kind="stable")
        probes = values[order]
        hit = np.zeros(len(values), dtype=bool)
        for run in self._runs:
            positions = np.searchsorted(run, probes)
            np.minimum(positions, len(run) - 1, out=positions)
            hit |= run[positions] == probes
        found[order] = hit
        return found

    def add_new(self, values: np.ndarray) -> None:
        """Add values that are not members yet (the caller has checked with `contains`)."""
        run = np.unique(values.astype(np.uint64, copy=False))
        if len(run) == 0:
            return
        self._runs.append(run)
        while len(self._runs) > 1 and len(self._runs[-2]) <= len(self._runs[-1]):
            newer = self._runs.pop()
            older = self._runs.pop()
            self._runs.append(np.sort(np.concatenate([older, newer]), kind="stable"))
