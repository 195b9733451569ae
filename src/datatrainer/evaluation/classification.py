"""Classification accuracy and macro-F1 of a classifier trained on an annotated classification version.

The learner is deliberately plain and trusted: scikit-learn's logistic regression on the workspace's cached
sentence embeddings (MiniLM by default, `ws.embeddings`). Records are split into train and test by a hash of
their id (the split `datatrainer train` holds out by), so the split does not depend on record order and a
record never changes side between runs. Single-label records only: a record with several labels, or none,
is left out (and counted).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from datatrainer.errors import DatatrainerError

TEST_FRACTION = 0.25
Matrix = np.ndarray[Any, np.dtype[np.float32]]
Mask = np.ndarray[Any, np.dtype[np.bool_]]


@dataclass(frozen=True)
class ClassificationResult:
    labels: list[str]
    gold: list[str]
    predicted: list[str]
    train_size: int
    skipped: int

    def metrics(self) -> dict[str, float]:
        from sklearn.metrics import accuracy_score, f1_score

        per_label = f1_score(self.gold, self.predicted, labels=self.labels, average=None, zero_division=0)
        return {"accuracy": float(accuracy_score(self.gold, self.predicted)),
                "macro_f1": float(f1_score(self.gold, self.predicted, labels=self.labels, average="macro",
                                           zero_division=0)),
                "train": float(self.train_size), "test": float(len(self.gold)), "skipped": float(self.skipped),
                **{f"f1/{label}": float(value) for label, value in zip(self.labels, per_label, strict=True)}}


def single_labels(table: pa.Table, labels_field: str = "labels") -> tuple[list[str | None], int]:
    """Each record's one label (None for records with zero or several), and how many were left out."""
    out: list[str | None] = []
    for value in table.column(labels_field).to_pylist():
        if isinstance(value, list):
            out.append(str(value[0]) if len(value) == 1 else None)
        else:
            out.append(None if value is None else str(value))
    return out, sum(label is None for label in out)


def evaluate_classification(features: Matrix, labels: Sequence[str | None], test: Mask, ref: str,
                            seed: int = 0) -> ClassificationResult:
    """Fit on the non-test labelled rows, predict the test labelled rows."""
    from sklearn.linear_model import LogisticRegression

    known = np.array([label is not None for label in labels], dtype=bool)
    train_rows, test_rows = np.flatnonzero(known & ~test).tolist(), np.flatnonzero(known & test).tolist()
    names = sorted({label for label in labels if label is not None})
    if len(names) < 2:
        raise DatatrainerError(f"{ref}: classification needs at least two labels among single-label records, "
                               f"found {len(names)}")
    train_labels = [str(labels[i]) for i in train_rows]
    if len(set(train_labels)) < 2 or len(test_rows) == 0:
        raise DatatrainerError(f"{ref}: too few labelled records for a train/test split ({len(train_rows)} train, "
                               f"{len(test_rows)} test): annotate more")
    learner = LogisticRegression(max_iter=2000, random_state=seed)
    learner.fit(features[train_rows], train_labels)
    predicted = [str(label) for label in learner.predict(features[test_rows])]
    return ClassificationResult(names, [str(labels[i]) for i in test_rows], predicted, len(train_rows),
                                int((~known).sum()))
