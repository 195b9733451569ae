"""How unsure a suggester is about one task, as one number for ordering tasks (active learning).

Annotating the tasks a model is least sure about first teaches it most per label (uncertainty sampling,
Settles 2009). Every measure here maps to [0, 1] with 0 = certain, so projects can switch measures without
changing how the queue is sorted:

- least confidence: 1 - max p;
- margin: 1 - (p_top1 - p_top2), so two equally likely labels give 1;
- entropy: -sum p log p / log K, so the uniform distribution over K labels gives 1 and a one-hot gives 0.

Multi-label classification treats each label as its own yes/no question and averages the measure over the
labels. For spans (NER) a document is as uncertain as its least (``min``) or average (``mean``) confident
span: 1 - min or 1 - mean of the span confidences; a document without suggested spans scores 0, because the
suggester saw nothing in doubt (it may still have missed entities: recall is not something it can report).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

Measure = Literal["least_confidence", "margin", "entropy"]
SpanAggregate = Literal["min", "mean"]
MEASURES: tuple[Measure, ...] = ("least_confidence", "margin", "entropy")


def least_confidence(probabilities: Sequence[float] | np.ndarray[Any, Any]) -> float:
    p = _distribution(probabilities)
    return _unit(1.0 - float(p.max()))


def margin(probabilities: Sequence[float] | np.ndarray[Any, Any]) -> float:
    p = _distribution(probabilities)
    if p.size == 1:
        return 0.0
    top2 = np.partition(p, p.size - 2)[-2:]
    return _unit(1.0 - float(top2[1] - top2[0]))


def entropy(probabilities: Sequence[float] | np.ndarray[Any, Any]) -> float:
    p = _distribution(probabilities)
    if p.size == 1:
        return 0.0
    nonzero = p[p > 0]
    return _unit(float(-(nonzero * np.log(nonzero)).sum()) / math.log(p.size))


def uncertainty(probabilities: Sequence[float] | np.ndarray[Any, Any], measure: Measure = "entropy") -> float:
    """One of the measures above for a single-label distribution over the project's labels."""
    return _FUNCTIONS[measure](probabilities)


def multi_label_uncertainty(probabilities: Sequence[float] | np.ndarray[Any, Any],
                            measure: Measure = "entropy") -> float:
    """Independent per-label probabilities (multi-label): the measure of each yes/no question, averaged."""
    p = np.asarray(probabilities, dtype=np.float64)
    if p.size == 0:
        return 0.0
    return float(np.mean([_FUNCTIONS[measure]([value, 1.0 - value]) for value in np.clip(p, 0.0, 1.0)]))


def span_uncertainty(confidences: Sequence[float | None], aggregate: SpanAggregate = "min") -> float | None:
    """1 - min (or mean) span confidence; None when the suggester gives no confidences (rules, plain spaCy)."""
    if not confidences:
        return 0.0
    if any(value is None for value in confidences):
        return None
    values = np.clip(np.asarray(confidences, dtype=np.float64), 0.0, 1.0)
    return _unit(1.0 - float(values.min() if aggregate == "min" else values.mean()))


def _distribution(probabilities: Sequence[float] | np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.float64]]:
    """The vector renormalised to sum to 1; an empty or all-zero vector is a caller's bug, not user input."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64).ravel(), 0.0, None)
    total = p.sum()
    if p.size == 0 or not np.isfinite(total) or total <= 0:
        raise ValueError(f"not a probability vector: {list(probabilities)!r}")
    normalised: np.ndarray[Any, np.dtype[np.float64]] = p / total
    return normalised


def _unit(value: float) -> float:
    """Clamp rounding error (e.g. -1e-17) into [0, 1]."""
    return min(1.0, max(0.0, value))


_FUNCTIONS = {"least_confidence": least_confidence, "margin": margin, "entropy": entropy}
