"""Perplexity under a proxy LM: the perplexity-filtering baseline of Sachdeva et al. (2024).

Each document is cut to `max_tokens` of the model's tokens and scored as it is (no prompt): mean NLL = the
sum of its tokens' negative log-likelihoods (nats; the first token conditioned on BOS where the model has
one) / their number, and perplexity = exp(mean NLL). The stored score is the perplexity: lower means text
the model finds more typical. `sample --by perplexity --band low` keeps the least surprising part (the
paper's baseline); `middle` and `high` keep the other bands. A text with no tokens has no perplexity (NaN,
ranked after every other record).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from datatrainer.models.lm.base import FloatArray, LanguageModel
from datatrainer.scoring.configs import config_hash

PERPLEXITY = "perplexity"
DEFINITIONS = 1  # part of every config: raise it when the arithmetic changes, so old scores are not reused


class PerplexityParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_tokens: int = Field(512, ge=1, description="document tokens scored (the rest is cut)")

    def settings(self) -> dict[str, Any]:
        """Everything but the model that the scores depend on."""
        return {"definitions": DEFINITIONS, "max_tokens": self.max_tokens, "score": PERPLEXITY}


@dataclass(frozen=True)
class PerplexityScores:
    nll_sum: FloatArray
    tokens: FloatArray

    @property
    def mean_nll(self) -> FloatArray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.tokens > 0, self.nll_sum / self.tokens, np.nan)

    @property
    def perplexity(self) -> FloatArray:
        return np.exp(self.mean_nll)


class Perplexity:
    """Perplexity of documents under one model."""

    def __init__(self, model: LanguageModel, params: PerplexityParams | None = None) -> None:
        self.model = model
        self.params = params or PerplexityParams()

    def config(self) -> dict[str, Any]:
        return {"model": self.model.config(), **self.params.settings()}

    def config_hash(self) -> str:
        return config_hash(self.config())

    def score(self, texts: Sequence[str]) -> PerplexityScores:
        nll_sum, tokens = self.model.sequence_nll(self.model.truncate(texts, self.params.max_tokens))
        return PerplexityScores(np.asarray(nll_sum, np.float64), np.asarray(tokens, np.float64))
