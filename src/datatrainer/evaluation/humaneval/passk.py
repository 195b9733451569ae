"""The unbiased pass@k estimator of Chen et al. (2021), "Evaluating Large Language Models Trained on Code".

With n samples of which c pass, pass@k = 1 - C(n - c, k) / C(n, k): the probability that at least one of k
samples drawn without replacement passes. Computed as a running product, which stays exact in floating point
where the binomials would overflow; the benchmark's pass@k is the mean over problems.
"""

from __future__ import annotations

from collections.abc import Sequence

from datatrainer.errors import DatatrainerError


def pass_at_k(n: int, c: int, k: int) -> float:
    """pass@k of one problem with `n` samples, `c` of them correct."""
    if not 0 <= c <= n or k < 1:
        raise DatatrainerError(f"pass@k needs 0 <= correct <= samples and k >= 1 (got n={n}, c={c}, k={k})")
    if k > n:
        raise DatatrainerError(f"pass@{k} needs at least {k} samples per problem, got {n}: raise --samples")
    if n - c < k:
        return 1.0
    product = 1.0
    for i in range(n - c + 1, n + 1):
        product *= 1.0 - k / i
    return 1.0 - product


def mean_pass_at_k(samples: Sequence[int], correct: Sequence[int], k: int) -> float:
    """Mean pass@k over problems (paired sequences of sample and correct counts)."""
    if not samples:
        raise DatatrainerError("pass@k of no problems is undefined")
    return sum(pass_at_k(n, c, k) for n, c in zip(samples, correct, strict=True)) / len(samples)
