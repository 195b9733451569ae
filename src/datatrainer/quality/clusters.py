"""Connected components of a graph given as an edge list, labelled by their smallest row.

Labelling a cluster by its first row (in version order) is what dedup needs: a row is kept exactly when
its label is its own index. The algorithm is vectorised min-label hooking with pointer jumping, so it runs
in a handful of NumPy passes over the edges however the components are shaped (a long chain included).
"""

from __future__ import annotations

import numpy as np


def _compress(labels: np.ndarray) -> np.ndarray:
    """Follow label pointers until every row points at a root (a row labelled with itself)."""
    while True:
        jumped = labels[labels]
        if np.array_equal(jumped, labels):
            return labels
        labels = jumped


def component_labels(rows: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """int64 label per row: the smallest row index of its connected component (itself when isolated)."""
    labels = np.arange(rows, dtype=np.int64)
    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    while left.size:
        low, high = labels[left], labels[right]
        target = np.minimum(low, high)
        # Hook both roots onto the smaller label, then flatten the trees.
        np.minimum.at(labels, low, target)
        np.minimum.at(labels, high, target)
        labels = _compress(labels)
        unsettled = labels[left] != labels[right]
        left, right = left[unsettled], right[unsettled]
    return labels
