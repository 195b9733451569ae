"""Exact kernel sums `S(y) = sum_x k(x, y)` for small N, to check the sketch and as a scorer of their own.

Kernels: Gaussian `exp(-d^2 / (2 s^2))`, Laplace `exp(-d / s)`, and the RACE sketch's own collision kernel in
closed form, `P[collision]^p`: for p-stable L2 hashing with bin width r (Datar et al. 2004, with u = r / d)

    P(d) = 1 - 2 Phi(-u) - 2 / (sqrt(2 pi) u) * (1 - exp(-u^2 / 2)),

and for signed random projections P = 1 - angle(x, y) / pi. Sums are computed in blocks of rows against all
vectors with one float64 matmul per block: O(N^2 d) time, O(block * N) memory.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from datatrainer.scoring.race import RaceParams

Array = np.ndarray[Any, np.dtype[np.float64]]
# A kernel maps (dot products, squared norms of the left vectors as a column, of the right ones as a row)
# to kernel values; both distance- and angle-based kernels are cheap functions of these three.
Kernel = Callable[[Array, Array, Array], Array]


def _distances(dots: Array, left: Array, right: Array) -> Array:
    return np.sqrt(np.maximum(left + right - 2.0 * dots, 0.0))


def _cosines(dots: Array, left: Array, right: Array) -> Array:
    return np.clip(dots / np.maximum(np.sqrt(left * right), 1e-300), -1.0, 1.0)


def gaussian(bandwidth: float) -> Kernel:
    def kernel(dots: Array, left: Array, right: Array) -> Array:
        return np.exp(-np.maximum(left + right - 2.0 * dots, 0.0) / (2.0 * bandwidth**2))

    return kernel


def laplace(bandwidth: float) -> Kernel:
    def kernel(dots: Array, left: Array, right: Array) -> Array:
        return np.exp(-_distances(dots, left, right) / bandwidth)

    return kernel


def pstable_collision(distance: Array, bandwidth: float) -> Array:
    """P[floor((w.x+b)/r) = floor((w.y+b)/r)] for ||x - y|| = distance (1 at distance 0)."""
    from scipy.special import ndtr

    d = np.asarray(distance, dtype=np.float64)
    u = bandwidth / np.where(d > 0, d, 1.0)
    probability = 1.0 - 2.0 * ndtr(-u) - 2.0 / (math.sqrt(2.0 * math.pi) * u) * (1.0 - np.exp(-(u**2) / 2.0))
    return np.where(d > 0, probability, 1.0)


def srp_collision(cosine: Array) -> Array:
    """P[sign(w.x) = sign(w.y)] = 1 - angle / pi."""
    return 1.0 - np.arccos(np.clip(cosine, -1.0, 1.0)) / math.pi


def collision_kernel(params: RaceParams) -> Kernel:
    """The kernel a sketch with these parameters estimates (ignoring the 1/B bucket-sharing term)."""
    def kernel(dots: Array, left: Array, right: Array) -> Array:
        if params.family == "pstable":
            single = pstable_collision(_distances(dots, left, right), params.bandwidth)
        else:
            single = srp_collision(_cosines(dots, left, right))
        result: Array = single**params.concat
        return result

    return kernel


def exact_kernel_sums(vectors: np.ndarray[Any, Any], kernel: Kernel, block: int = 512) -> Array:
    """`sum_x k(x, y)` for every vector y (itself included), exactly."""
    data = np.asarray(vectors, dtype=np.float64)
    squared = np.einsum("ij,ij->i", data, data)
    sums = np.empty(data.shape[0], dtype=np.float64)
    for start in range(0, data.shape[0], block):
        stop = min(start + block, data.shape[0])
        values = kernel(data[start:stop] @ data.T, squared[start:stop, None], squared[None, :])
        sums[start:stop] = values.sum(axis=1)
    return sums
