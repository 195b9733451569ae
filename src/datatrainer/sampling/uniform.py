"""`random`: a uniform sample without replacement, the baseline every other sampler must beat.

Sachdeva et al. (2024, "How to Train Data-Efficient LLMs") find random sampling a strong baseline among
the coverage methods, so it is always worth running beside them.
"""

from __future__ import annotations

import numpy as np

from datatrainer.sampling.base import NoParams, Sampler, SamplerInputs, Selection


class RandomSampler(Sampler[NoParams]):
    """Keeps k rows drawn uniformly without replacement."""

    name = "random"
    seeded = True

    def choose(self, inputs: SamplerInputs, k: int, seed: int) -> Selection:
        chosen = np.random.default_rng(seed).choice(inputs.rows, size=k, replace=False)
        return Selection(np.sort(chosen).astype(np.int64))
