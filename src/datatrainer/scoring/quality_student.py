"""The default quality score: a small classifier fitted on labelled real text, as FineWeb-Edu's and DCLM's
quality classifiers are.

With the bundled 135M model, Ask-LLM's own scores rank real text barely above (or below) chance, while cheap
signals separate it well; measured leave-one-family-out on the quality-scoring benchmark
(`datatrainer.evaluation.quality_scoring`), a logistic regression over those signals generalises to
families of text it was never fitted on. This module holds that student: its features (the quality
package's Gopher, C4 and repetition signals, plus `c4_word_share`), the standardisation and weights fitted
on the benchmark, stored in `quality_student.json` beside this file with where they came from, and the
function that scores texts with it. Its config hash is the weights file's hash, so refitted weights never
reuse old scores.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from datatrainer.errors import DatatrainerError
from datatrainer.quality.signals import heuristic_signals

STUDENT_FILE = Path(__file__).with_name("quality_student.json")
Array = np.ndarray[Any, Any]
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
    """Standardised features -> log-odds of "good" (higher is better)."""

    features: tuple[str, ...]
    mean: Array
    scale: Array
    coef: Array
    intercept: float
    provenance: dict[str, Any] = field(default_factory=dict)

    def score(self, texts: Sequence[str]) -> Array:
        matrix, columns = signal_matrix(texts)
        if missing := [name for name in self.features if name not in columns]:
            raise DatatrainerError(f"quality student: signal {missing[0]!r} is not computed any more; refit it")
        chosen = matrix[:, [columns.index(name) for name in self.features]]
        scores: Array = ((chosen - self.mean) / self.scale) @ self.coef + self.intercept
        return scores

    def to_json(self) -> dict[str, Any]:
        return {"features": list(self.features), "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "coef": self.coef.tolist(), "intercept": self.intercept, "provenance": self.provenance}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> QualityStudent:
        return cls(tuple(data["features"]), np.asarray(data["mean"]), np.asarray(data["scale"]),
                   np.asarray(data["coef"]), float(data["intercept"]), dict(data.get("provenance", {})))


def fit_student(texts: Sequence[str], labels: Sequence[int], c: float = 1.0,
                provenance: dict[str, Any] | None = None) -> QualityStudent:
    """Fit the student on labelled texts (1 good, 0 low quality)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    matrix, columns = signal_matrix(texts)
    scaler = StandardScaler().fit(matrix)
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    model = LogisticRegression(C=c, max_iter=5000).fit((matrix - scaler.mean_) / scale, np.asarray(labels))
    return QualityStudent(tuple(columns), scaler.mean_, scale, model.coef_[0], float(model.intercept_[0]),
                          provenance or {})


def write_student(student: QualityStudent, path: Path = STUDENT_FILE) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(orjson.dumps(student.to_json(), option=orjson.OPT_INDENT_2))
    tmp.replace(path)


@cache
def default_student() -> QualityStudent:
    return QualityStudent.from_json(orjson.loads(STUDENT_FILE.read_bytes()))


def student_digest(path: Path = STUDENT_FILE) -> str:
    """Hash of the weights file: part of every config that stores the student's scores."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
