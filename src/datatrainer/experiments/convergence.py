"""The paper's "faster convergence" measure: the training steps a run needs to reach a target validation loss.

Sachdeva et al. (2024) compare samplers by how early a model trained on a sample reaches the quality the
full-data model ends with. Here the target is the final validation loss of the full-data run of the same
seed, and a run "reaches" it at the first evaluated step whose loss is at most the target; it may never
reach it (None). Steps are only known where the run was evaluated, so the answer is a multiple of the
evaluation interval, not an interpolation between evaluations.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def steps_to_reach(steps: Sequence[int], losses: Sequence[float], target: float) -> int | None:
    """The first step whose loss is <= target, or None when no evaluation reaches it (NaN never does)."""
    values = np.asarray(losses, dtype=float)
    reached = np.flatnonzero(values <= target)  # NaN compares False
    return int(steps[reached[0]]) if len(reached) else None


def final_loss(losses: Sequence[float]) -> float:
    """The last evaluated loss: the full-data run's final quality."""
    if not len(losses):
        raise ValueError("a run without evaluations has no final loss")
    return float(losses[-1])
