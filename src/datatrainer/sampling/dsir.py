"""`dsir`: Data Selection with Importance Resampling (Xie et al. 2023, "Data Selection for Language Models
via Importance Resampling").

Each text becomes a bag of hashed word unigrams and bigrams (`buckets` hash buckets). Two bag-of-ngrams
models are fitted: one on the raw texts, one on a target dataset's texts (add-one smoothing). A text's log
importance weight is sum over its n-grams of log p_target(b) - log p_raw(b); k texts are drawn without
replacement with probability proportional to their weights by the Gumbel-top-k trick (top k of
log-weight + Gumbel noise). What it keeps: texts whose words look like the target's, with enough
randomness to keep some diversity (unlike a plain top-k on the weights).

Texts are hashed chunk by chunk, twice (once to fit p_raw, once to weigh each text), so memory holds
one chunk's sparse features, not the whole corpus's.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field
from sklearn.feature_extraction.text import HashingVectorizer

from datatrainer.sampling.base import Sampler, SamplerInputs, Selection
from datatrainer.sampling.ranked import band_indices

_CHUNK = 8_192


class DSIRParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    buckets: int = Field(10_000, ge=16, le=2**24, description="hash buckets for the unigram+bigram features")


def _features(texts: pa.ChunkedArray, buckets: int) -> Iterator[sp.csr_matrix]:
    """Hashed unigram + bigram counts of lowercased word tokens, one sparse matrix per chunk."""
    vectorizer = HashingVectorizer(n_features=buckets, ngram_range=(1, 2), alternate_sign=False, norm=None,
                                   token_pattern=r"(?u)\b\w+\b", dtype=np.float64)  # nosec B106  # a tokenizer regex, not a password
    for start in range(0, len(texts), _CHUNK):
        chunk = texts.slice(start, _CHUNK).fill_null("").to_pylist()
        yield vectorizer.transform(chunk)


def _log_probabilities(texts: pa.ChunkedArray, buckets: int) -> np.ndarray:
    counts = np.zeros(buckets)
    for matrix in _features(texts, buckets):
        counts += np.asarray(matrix.sum(axis=0)).ravel()
    log_probabilities: np.ndarray = np.log(counts + 1.0) - np.log(counts.sum() + buckets)
    return log_probabilities


def importance_log_weights(texts: pa.ChunkedArray, target: pa.ChunkedArray, buckets: int) -> np.ndarray:
    """log p_target(text) - log p_raw(text) under the two hashed bag-of-ngrams models."""
    ratio = _log_probabilities(target, buckets) - _log_probabilities(texts, buckets)
    weights = [matrix @ ratio for matrix in _features(texts, buckets)]
    return np.concatenate(weights) if weights else np.empty(0)


class DSIRSampler(Sampler[DSIRParams]):
    """Keeps k texts resampled by importance weight toward a target dataset."""

    name = "dsir"
    params_model = DSIRParams
    needs = frozenset({"texts", "target_texts"})
    seeded = True

    def choose(self, inputs: SamplerInputs, k: int, seed: int) -> Selection:
        assert inputs.texts is not None and inputs.target_texts is not None
        log_weights = importance_log_weights(inputs.texts, inputs.target_texts, self.params.buckets)
        keys = log_weights + np.random.default_rng(seed).gumbel(size=len(log_weights))
        kept = band_indices(keys, k, "high")
        return Selection(kept, {"mean_log_weight": float(log_weights.mean()),
                                "mean_kept_log_weight": float(log_weights[kept].mean())})
