"""`density`: inverse-propensity sampling by density (Sachdeva et al. 2024, "How to Train Data-Efficient
LLMs", the Density sampler; kernel sums from a RACE sketch, Coleman & Shrivastava 2020).

The scores are each record's estimated kernel density in embedding space (`datatrainer score density`).
Rows are drawn without replacement with probability proportional to 1 / density. What it keeps: a sample
that flattens the distribution: rare, isolated rows are over-represented and crowded regions thinned,
while every region keeps some mass (unlike a bottom-k on density, which the paper shows destroys
coverage). The draw itself is `datatrainer.scoring.propensity.inverse_propensity_sample`, shared with the
scoring code so both use one definition (1 / S, as the paper's text and Theorem A.2 say).
"""

from __future__ import annotations

import numpy as np

from datatrainer.sampling.base import NoParams, Sampler, SamplerInputs, Selection
from datatrainer.scoring.propensity import inverse_propensity_sample


class DensitySampler(Sampler[NoParams]):
    """Keeps k rows drawn with probability proportional to 1 / density score."""

    name = "density"
    needs = frozenset({"scores"})
    seeded = True

    def choose(self, inputs: SamplerInputs, k: int, seed: int) -> Selection:
        assert inputs.scores is not None
        chosen = np.asarray(inverse_propensity_sample(inputs.scores, k, seed), dtype=np.int64)
        return Selection(np.sort(chosen))
