"""Uncertainty measures: properties every measure must have, checked against scipy's entropy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import entropy as scipy_entropy

from datatrainer.annotation.preannotate.base import ScoredSpan, Suggestion
from datatrainer.annotation.preannotate.uncertainty import (
    MEASURES,
    entropy,
    least_confidence,
    margin,
    multi_label_uncertainty,
    span_uncertainty,
    uncertainty,
)
from datatrainer.annotation.spans import Span

weights = st.lists(st.floats(min_value=0.0, max_value=1e3, allow_nan=False), min_size=2, max_size=12).filter(
    lambda ws: sum(ws) > 1e-6)


@given(st.integers(min_value=2, max_value=50))
def test_uniform_is_maximally_uncertain(k: int) -> None:
    for measure in MEASURES:
        assert uncertainty([1.0 / k] * k, measure) == pytest.approx(1.0 if measure != "least_confidence" else 1 - 1 / k)


@given(st.integers(min_value=1, max_value=50), st.data())
def test_one_hot_is_certain(k: int, data: st.DataObject) -> None:
    hot = data.draw(st.integers(min_value=0, max_value=k - 1))
    p = np.zeros(k)
    p[hot] = 1.0
    for measure in MEASURES:
        assert uncertainty(p, measure) == 0.0


@given(weights)
def test_measures_are_in_unit_interval_and_scale_free(ws: list[float]) -> None:
    p = np.asarray(ws) / sum(ws)
    for measure in MEASURES:
        value = uncertainty(p, measure)
        assert 0.0 <= value <= 1.0
        assert uncertainty(np.asarray(ws) * 7.0, measure) == pytest.approx(value, abs=1e-9)


@given(weights)
def test_entropy_matches_scipy(ws: list[float]) -> None:
    p = np.asarray(ws) / sum(ws)
    assert entropy(p) == pytest.approx(scipy_entropy(p) / math.log(len(p)), abs=1e-9)


@given(weights)
def test_uniform_has_the_largest_entropy(ws: list[float]) -> None:
    assert entropy(ws) <= entropy([1.0] * len(ws)) + 1e-12


@given(weights)
def test_permutation_invariant(ws: list[float]) -> None:
    for measure in MEASURES:
        assert uncertainty(ws, measure) == pytest.approx(uncertainty(ws[::-1], measure), abs=1e-12)


def test_known_values() -> None:
    assert least_confidence([0.7, 0.2, 0.1]) == pytest.approx(0.3)
    assert margin([0.7, 0.2, 0.1]) == pytest.approx(0.5)
    assert margin([0.45, 0.1, 0.45]) == pytest.approx(1.0)
    assert entropy([0.5, 0.5, 0.0, 0.0]) == pytest.approx(0.5)


def test_not_a_distribution_is_a_bug() -> None:
    with pytest.raises(ValueError, match="not a probability vector"):
        entropy([0.0, 0.0])


@given(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=8))
def test_multi_label_is_mean_of_binary_questions(p: list[float]) -> None:
    expected = np.mean([entropy([v, 1 - v]) if 0 < v < 1 else 0.0 for v in p])
    assert multi_label_uncertainty(p) == pytest.approx(expected, abs=1e-9)
    assert multi_label_uncertainty([0.0, 1.0, 1.0]) == 0.0
    assert multi_label_uncertainty([0.5] * 3) == pytest.approx(1.0)


@given(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=10))
def test_span_uncertainty(confidences: list[float]) -> None:
    assert span_uncertainty(confidences, "min") == pytest.approx(1 - min(confidences))
    assert span_uncertainty(confidences, "mean") == pytest.approx(1 - float(np.mean(confidences)))
    assert span_uncertainty(confidences, "min") >= span_uncertainty(confidences, "mean") - 1e-12  # type: ignore[operator]


def test_span_uncertainty_without_confidences() -> None:
    assert span_uncertainty([]) == 0.0
    assert span_uncertainty([0.9, None]) is None


def test_suggestion_result_and_scores() -> None:
    spans = (ScoredSpan(Span(0, 4, "PER"), 0.9), ScoredSpan(Span(5, 9, "ORG"), 0.6))
    ner = Suggestion("d1", "x", {"k": 1}, spans=spans)
    assert ner.result() == {"spans": [{"start": 0, "end": 4, "label": "PER"}, {"start": 5, "end": 9, "label": "ORG"}]}
    assert ner.scores()["uncertainty"] == pytest.approx(0.4)
    assert ner.scores(aggregate="mean")["uncertainty"] == pytest.approx(0.25)
    assert ner.scores()["confidences"] == [0.9, 0.6]
    cls = Suggestion("d1", "x", labels=("pos",), probabilities={"pos": 0.75, "neg": 0.25})
    assert cls.result() == {"labels": ["pos"]}
    assert cls.scores("least_confidence")["uncertainty"] == pytest.approx(0.25)
    assert cls.scores()["probabilities"] == {"pos": 0.75, "neg": 0.25}
    multi = Suggestion("d1", "x", labels=("a", "b"), probabilities={"a": 1.0, "b": 1.0, "c": 0.0}, multi_label=True)
    assert multi.uncertainty() == 0.0
