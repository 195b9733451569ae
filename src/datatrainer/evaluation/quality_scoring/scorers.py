"""The cheap scorers of the benchmark: heuristics as scores, a DCLM-style n-gram classifier, and the student
that learns from every signal.

- `c4_word_share`: the share of a text's words that lie in sentences (or lines) of at least 5 words ending in
  terminal punctuation: C4's line rule made continuous, the simplest strong heuristic.
- `gopher_rules_passed`: how many of the seven Gopher quality rules a text passes (more is better).
- `ngram_classifier`: logistic regression on hashed word 1- and 2-grams (DCLM's fastText recipe, in
  scikit-learn), fitted on labelled examples.
- `student`: logistic regression on standardised features: the Gopher, C4 and repetition signals the
  quality package computes, plus any LLM signals (Ask-LLM log P(yes) and log P(no) per prompt, mean token
  NLL); fitted on labelled examples, as FineWeb-Edu's and DCLM's classifiers learn from annotations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from datatrainer.scoring.quality_student import c4_word_share, signal_matrix, vectorizer

Array = np.ndarray[Any, Any]
__all__ = ["GOPHER_RULES", "NgramClassifier", "c4_word_share", "gopher_rules_passed", "signal_matrix",
           "student_fit_predict"]
# Gopher's thresholds (see quality.gopher): (signal, lowest allowed, highest allowed)
GOPHER_RULES = (("word_count", 50, 100_000), ("mean_word_length", 3, 10), ("symbol_word_ratio", 0, 0.1),
                ("bullet_line_frac", 0, 0.9), ("ellipsis_line_frac", 0, 0.3), ("alpha_word_frac", 0.8, 1),
                ("stop_word_count", 2, np.inf))


def gopher_rules_passed(signals: Array, columns: list[str]) -> Array:
    passed = np.zeros(len(signals))
    for name, low, high in GOPHER_RULES:
        values = signals[:, columns.index(name)]
        passed += (values >= low) & (values <= high)
    return passed


class NgramClassifier:
    """Hashed word 1-2-gram logistic regression: fit on labelled texts, score others by the log-odds."""

    def __init__(self, ngram_range: tuple[int, int] = (1, 2), n_features: int = 2 ** 18, c: float = 1.0) -> None:
        self.vectorizer = vectorizer(ngram_range, n_features)
        self.c = c

    def fit_predict(self, texts: Sequence[str], labels: Array, train: Array, test: Array) -> Array:
        from sklearn.linear_model import LogisticRegression

        features = self.vectorizer.transform([texts[i] for i in np.concatenate([train, test])])
        model = LogisticRegression(C=self.c, max_iter=2000).fit(features[:len(train)], labels[train])
        scores: Array = model.decision_function(features[len(train):])
        return scores


def student_fit_predict(features: Array, labels: Array, train: Array, test: Array, c: float = 1.0,
                        sparse: Any = None) -> Array:
    """Standardise the dense features on the training rows, append the `sparse` ones (hashed n-grams) as they
    are, fit one logistic regression, return the test rows' log-odds."""
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(features[train])
    matrix = scaler.transform(features)
    if sparse is not None:
        matrix = sp.hstack([sp.csr_matrix(matrix), sparse]).tocsr()
    model = LogisticRegression(C=c, max_iter=5000).fit(matrix[train], labels[train])
    scores: Array = model.decision_function(matrix[test])
    return scores
