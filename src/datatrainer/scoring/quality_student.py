"""The default quality score: two cheap models, fitted on labelled real text, vote.

With the bundled 135M model, Ask-LLM's own scores rank real text barely above chance, while cheap scorers
separate it well. Measured leave-one-family-out on the quality-scoring benchmark
(`datatrainer.evaluation.quality_scoring`, docs/commands/scoring.md), a DCLM-style n-gram classifier
(logistic regression on hashed word 1- and 2-grams, DCLM's fastText recipe in scikit-learn) and C4's line
rule made continuous (`c4_word_share`) each rank well but miss different junk: the n-gram model misses
licence text, whose words are those of prose, and the C4 share misses navigation and link lists that happen
to be sentences. So the default score is their soft vote, the mean of the two models' probabilities of
"good", the n-gram model's from its log-odds and the C4 share's from a one-feature logistic regression fitted
on the same labels. The vote was chosen on the benchmark's development build before the test build was
scored. `QualityStudent` holds the fitted weights (only the non-zero n-gram ones; `quality_student.npz`
beside this file, fitted on every family of both builds by `benchmarks/quality_scoring.py --fit-default`),
and its config hash includes the weights file's hash, so refitted weights never reuse old scores.

`c4_word_share` and `signal_matrix` (the heuristic features) live here too: the benchmark and the student
share them.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from datatrainer.quality.signals import heuristic_signals

STUDENT_FILE = Path(__file__).with_name("quality_student.npz")
NGRAM_RANGE = (1, 2)
N_FEATURES = 2 ** 18
TOKEN_PATTERN = r"(?u)\b\w+\b|[^\w\s]"  # words and single punctuation marks  # nosec B105  # a tokenizer regex, not a password
Array = np.ndarray[Any, Any]


def vectorizer(ngram_range: tuple[int, int] = NGRAM_RANGE, n_features: int = N_FEATURES) -> Any:
    """The hashed n-gram features: lower-cased words and punctuation marks, counts L2-normalised."""
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(ngram_range=ngram_range, n_features=n_features, alternate_sign=False, lowercase=True,
                             token_pattern=TOKEN_PATTERN)


_SEGMENTS = re.compile(r"[^\n.!?]*(?:[.!?][\"'\u201d\u2019)\]]*|\n|$)")
_TERMINAL_END = re.compile(r"[.!?][\"'\u201d\u2019)\]]*$")
MIN_SENTENCE_WORDS = 5
def c4_word_share(texts: Sequence[str]) -> Array:
    """Share of words in sentences or lines of 5+ words that end in terminal punctuation."""
    shares = np.zeros(len(texts))
    for i, text in enumerate(texts):
        total = kept = 0
        for segment in _SEGMENTS.findall(text):
            words = len(segment.split())
            total += words
            if words >= MIN_SENTENCE_WORDS and _TERMINAL_END.search(segment.strip()):
                kept += words
        shares[i] = kept / total if total else 0.0
    return shares


def signal_matrix(texts: Sequence[str]) -> tuple[Array, list[str]]:
    """The quality package's heuristic signals of the texts and `c4_word_share`, as a float matrix, and the
    column names."""
    table = heuristic_signals(pa.array(list(texts), pa.large_string()))
    columns = [*table.column_names, "c4_word_share"]
    matrix = np.column_stack([*(table[name].to_numpy(zero_copy_only=False).astype(np.float64)
                                for name in table.column_names), c4_word_share(texts)])
    return np.nan_to_num(matrix), columns




@dataclass(frozen=True)
class QualityStudent:
    """Hashed n-gram log-odds and the C4 word share's log-odds -> the mean of their probabilities of "good"."""

    indices: Array  # n-gram feature indices with a non-zero weight
    weights: Array
    intercept: float
    c4_slope: float
    c4_intercept: float
    provenance: dict[str, Any] = field(default_factory=dict)

    def score(self, texts: Sequence[str]) -> Array:
        from scipy.special import expit

        features = vectorizer().transform(list(texts))[:, self.indices]
        ngram = np.asarray(features @ self.weights).ravel() + self.intercept
        c4 = self.c4_slope * c4_word_share(texts) + self.c4_intercept
        scores: Array = (expit(ngram) + expit(c4)) / 2
        return scores

    def save(self, path: Path = STUDENT_FILE) -> None:
        """Atomic write of the weights and their provenance."""
        buffer = io.BytesIO()
        np.savez_compressed(buffer, indices=self.indices.astype(np.int32), weights=self.weights.astype(np.float32),
                            intercept=np.float64(self.intercept),
                            c4=np.array([self.c4_slope, self.c4_intercept], np.float64),
                            provenance=np.frombuffer(orjson.dumps(self.provenance), dtype=np.uint8))
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(buffer.getvalue())
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path = STUDENT_FILE) -> QualityStudent:
        with np.load(path) as data:
            slope, intercept = data["c4"]
            return cls(data["indices"], data["weights"].astype(np.float64), float(data["intercept"]), float(slope),
                       float(intercept), orjson.loads(data["provenance"].tobytes()))


def fit_student(texts: Sequence[str], labels: Sequence[int] | Array, c: float = 1.0,
                provenance: dict[str, Any] | None = None) -> QualityStudent:
    """Fit both models on labelled texts (1 good, 0 low quality)."""
    from sklearn.linear_model import LogisticRegression

    y = np.asarray(labels)
    ngram = LogisticRegression(C=c, max_iter=2000).fit(vectorizer().transform(list(texts)), y)
    c4 = LogisticRegression(C=c, max_iter=2000).fit(c4_word_share(texts)[:, None], y)
    indices = np.flatnonzero(ngram.coef_[0])
    return QualityStudent(indices, ngram.coef_[0][indices], float(ngram.intercept_[0]), float(c4.coef_[0][0]),
                          float(c4.intercept_[0]), provenance or {})


@cache
def default_student() -> QualityStudent:
    return QualityStudent.load()


def student_digest(path: Path = STUDENT_FILE) -> str:
    """Hash of the weights file: part of every config that stores the student's scores."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
