"""Samplers that rank by a stored score: `top-k`, `bottom-k` and `band` (low / middle / high).

These are how quality scores become a sample: Ask-LLM keeps the top-k by P(yes) (Sachdeva et al. 2024);
perplexity filtering keeps the lowest band, or the middle or highest one (Marion et al. 2023, "When Less is
More"). Ties are broken by row index (earlier rows first), so the result never depends on the seed.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from datatrainer.sampling.base import NoParams, P, Sampler, SamplerInputs, Selection

Band = Literal["low", "middle", "high"]


def band_indices(values: np.ndarray, k: int, band: Band) -> np.ndarray:
    """Row indices (sorted) of the k lowest, middle or highest values; ties go to earlier rows.

    The middle band is the window of k values centred on the median (rounded towards the low side).
    """
    rows = np.arange(len(values))
    if band == "high":
        order = np.lexsort((rows, -values))[:k]
    else:
        order = np.lexsort((rows, values))
        start = 0 if band == "low" else (len(values) - k) // 2
        order = order[start:start + k]
    return np.sort(order).astype(np.int64)


class BandParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    band: Band = Field("middle", description="low, middle or high share of the scores")


class _RankSampler(Sampler[P]):
    """Keeps one band of the ranking; subclasses say which."""

    needs = frozenset({"scores"})

    @abstractmethod
    def band(self) -> Band: ...

    def choose(self, inputs: SamplerInputs, k: int, seed: int) -> Selection:
        assert inputs.scores is not None
        kept = band_indices(inputs.scores, k, self.band())
        chosen = inputs.scores[kept]
        return Selection(kept, {"min_kept_score": float(chosen.min()), "max_kept_score": float(chosen.max())})


class BandSampler(_RankSampler[BandParams]):
    """Keeps the k rows whose scores form the low, middle or high band (perplexity bands)."""

    name = "band"
    params_model = BandParams

    def band(self) -> Band:
        return self.params.band


class TopKSampler(_RankSampler[NoParams]):
    """Keeps the k highest-scoring rows (Ask-LLM, quality classifiers)."""

    name = "top-k"

    def band(self) -> Band:
        return "high"


class BottomKSampler(_RankSampler[NoParams]):
    """Keeps the k lowest-scoring rows (the perplexity-filtering baseline: least surprising text)."""

    name = "bottom-k"

    def band(self) -> Band:
        return "low"
