"""Classification suggestions from a logistic regression on sentence embeddings, fitted on the project's
already-annotated tasks: the active-learning loop (annotate a few, fit, suggest the rest with probabilities,
annotate the most uncertain next, refit).

Embeddings are MiniLM (int8 ONNX by default: loads in under a second); the regression is scikit-learn's
L2-regularised `LogisticRegression` (multinomial for single-label projects, one binary model per label for
multi-label ones). A label no training example has gets probability 0 (single-label); in multi-label projects
a label whose training examples are all yes or all no gets its smoothed base rate, (yes + 1) / (n + 2).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from datatrainer.annotation.preannotate.base import Suggestion, check_labels, label_suggestions
from datatrainer.annotation.spans import AnnotatedDoc
from datatrainer.errors import DatatrainerError
from datatrainer.models.embedders import Embedder, load_embedder

Matrix = np.ndarray[Any, np.dtype[np.float64]]
MIN_EXAMPLES = 2


class EmbeddingClassifierSuggester:
    """Fit on annotated documents at construction; `suggest` embeds and predicts the others."""

    def __init__(self, labels: Sequence[str], train: Sequence[tuple[str, Sequence[str]]], multi_label: bool = False,
                 embedder: Embedder | None = None, c: float = 1.0) -> None:
        """`train` holds (text, labels) of annotated documents."""
        from sklearn.linear_model import LogisticRegression

        self.labels = check_labels(labels, "classifier")
        self.multi_label = multi_label
        self.c = c
        targets = self._targets(train)
        self.embedder = embedder or load_embedder("minilm", "onnx")
        vectors = self.embedder.embed([text for text, _ in train]).astype(np.float64)
        self._digest = hashlib.sha256(repr([(t, sorted(ls)) for t, ls in train]).encode()).hexdigest()[:16]
        self.n_train = len(train)
        if multi_label:
            self._models: list[Any] = []
            self._base_rates = (targets.sum(axis=0) + 1.0) / (len(train) + 2.0)
            for column in range(len(self.labels)):
                y = targets[:, column]
                self._models.append(LogisticRegression(C=c, max_iter=1000).fit(vectors, y) if 0 < y.sum() < len(y)
                                    else None)
        else:
            self._model = LogisticRegression(C=c, max_iter=1000).fit(vectors, targets.argmax(axis=1))

    @property
    def source(self) -> str:
        return f"classifier:{self.embedder.name}-logreg"

    def config(self) -> dict[str, Any]:
        return {"embedder": self.embedder.config(), "model": "LogisticRegression", "C": self.c,
                "multi_label": self.multi_label, "n_train": self.n_train, "train_sha256": self._digest}

    def suggest(self, docs: Sequence[AnnotatedDoc]) -> list[Suggestion]:
        if not docs:
            return []
        probs = self.predict_proba(self.embedder.embed([doc.text for doc in docs]).astype(np.float64))
        return label_suggestions(docs, probs, self.labels, self.multi_label, self.source, self.config())

    def predict_proba(self, vectors: Matrix) -> Matrix:
        """(n, labels): a distribution per row (single-label) or independent P(label) (multi-label)."""
        out = np.zeros((len(vectors), len(self.labels)))
        if self.multi_label:
            for column, model in enumerate(self._models):
                out[:, column] = model.predict_proba(vectors)[:, 1] if model is not None else self._base_rates[column]
        else:
            out[:, self._model.classes_] = self._model.predict_proba(vectors)
        return out

    def _targets(self, train: Sequence[tuple[str, Sequence[str]]]) -> Matrix:
        """A (documents, labels) 0/1 matrix; one-line errors for labels outside the schema or too few examples."""
        index = {label: i for i, label in enumerate(self.labels)}
        targets = np.zeros((len(train), len(self.labels)))
        for row, (_, labels) in enumerate(train):
            unknown = [label for label in labels if label not in index]
            if unknown:
                raise DatatrainerError(f"classifier: training example {row} has label {unknown[0]!r}, not one of "
                                       f"the project's labels ({', '.join(self.labels)})")
            if not self.multi_label and len(labels) != 1:
                raise DatatrainerError(f"classifier: training example {row} has {len(labels)} labels; a single-label "
                                       "project needs exactly one")
            targets[row, [index[label] for label in labels]] = 1.0
        if len(train) < MIN_EXAMPLES or (not self.multi_label and np.count_nonzero(targets.sum(axis=0)) < 2):
            raise DatatrainerError(f"classifier: needs annotated examples of at least two labels to fit; has "
                                   f"{len(train)} example(s) of {np.count_nonzero(targets.sum(axis=0))} label(s)")
        return targets
