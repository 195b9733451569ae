"""Corpus perplexity of a model on a dataset version: exp(total NLL / total tokens), token-weighted.

Documents are scored by the same `Perplexity` scorer `datatrainer score perplexity` uses (cut to `max_tokens`,
the first token conditioned on BOS), and pooled by tokens rather than averaged per document, so a long
document weighs what its tokens weigh. On the version a model was trained on, only the held-out records count
(the same id-hash split training held out); elsewhere, every record.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from datatrainer.errors import DatatrainerError
from datatrainer.models.lm.base import FloatArray, LanguageModel
from datatrainer.progress import Advance
from datatrainer.scoring.perplexity import Perplexity, PerplexityParams

CHUNK = 32  # documents per call: the progress bar's step


@dataclass(frozen=True)
class PerplexityResult:
    nll_sum: FloatArray
    tokens: FloatArray

    def metrics(self) -> dict[str, float]:
        total = float(self.tokens.sum())
        if total == 0:
            raise DatatrainerError("no document has a token to score: perplexity is undefined")
        mean_nll = float(self.nll_sum.sum()) / total
        return {"perplexity": math.exp(mean_nll), "mean_nll": mean_nll, "tokens": total,
                "documents": float(len(self.tokens))}

    @property
    def document_perplexities(self) -> FloatArray:
        scored = self.tokens > 0
        return np.asarray(np.exp(self.nll_sum[scored] / self.tokens[scored]), dtype=np.float64)


def corpus_perplexity(model: LanguageModel, texts: Sequence[str], max_tokens: int = 1024,
                      advance: Advance | None = None) -> PerplexityResult:
    scorer = Perplexity(model, PerplexityParams(max_tokens=max_tokens))
    nll, tokens = [], []
    for start in range(0, len(texts), CHUNK):
        scores = scorer.score(texts[start:start + CHUNK])
        nll.append(scores.nll_sum)
        tokens.append(scores.tokens)
        if advance is not None:
            advance(len(scores.tokens))
    empty = np.empty(0, dtype=np.float64)
    return PerplexityResult(np.concatenate(nll) if nll else empty, np.concatenate(tokens) if tokens else empty)
