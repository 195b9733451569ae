"""Agreement coefficients against independent references: scikit-learn, statsmodels, krippendorff, brute force."""

from __future__ import annotations

import math
from collections import Counter

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss

from datatrainer.annotation.agreement import binarise, cohen_kappa, fleiss_kappa, krippendorff_alpha

LABELS = st.sampled_from(["PER", "ORG", "LOC", "MISC"])


def paired(min_size: int = 1) -> st.SearchStrategy[tuple[list[str], list[str]]]:
    return st.integers(min_size, 40).flatmap(
        lambda n: st.tuples(st.lists(LABELS, min_size=n, max_size=n), st.lists(LABELS, min_size=n, max_size=n)))


def fleiss_items() -> st.SearchStrategy[list[list[str]]]:
    return st.integers(2, 6).flatmap(
        lambda raters: st.lists(st.lists(LABELS, min_size=raters, max_size=raters), min_size=1, max_size=30))


def brute_force_fleiss(items: list[list[str]]) -> float:
    """Fleiss (1971) as textbooks write it: per-item agreement P_i, category proportions p_j, in floats."""
    categories = sorted({label for item in items for label in item})
    n = len(items[0])
    table = [[Counter(item)[c] for c in categories] for item in items]
    p_i = [(sum(x * x for x in row) - n) / (n * (n - 1)) for row in table]
    p_j = [sum(row[j] for row in table) / (len(items) * n) for j in range(len(categories))]
    p_bar, p_e = sum(p_i) / len(items), sum(p * p for p in p_j)
    return (p_bar - p_e) / (1 - p_e)


def close(ours: float | None, reference: float) -> bool:
    return ours is not None and math.isclose(ours, reference, rel_tol=1e-9, abs_tol=1e-9)


@settings(max_examples=100, deadline=None)
@given(paired())
def test_cohen_matches_sklearn(pair: tuple[list[str], list[str]]) -> None:
    a, b = pair
    ours = cohen_kappa(a, b)
    if len(set(a) | set(b)) == 1:
        assert ours is None  # chance agreement is total: kappa is 0/0
    else:
        assert close(ours, float(cohen_kappa_score(a, b)))


@settings(max_examples=100, deadline=None)
@given(paired())
def test_cohen_symmetric_bounded_and_one_on_identical(pair: tuple[list[str], list[str]]) -> None:
    a, b = pair
    assert cohen_kappa(a, b) == cohen_kappa(b, a)
    kappa = cohen_kappa(a, b)
    assert kappa is None or -1.0 <= kappa <= 1.0
    if len(set(a)) > 1:
        assert cohen_kappa(a, a) == 1.0


@settings(max_examples=200, deadline=None)
@given(fleiss_items())
def test_fleiss_matches_statsmodels_and_brute_force(items: list[list[str]]) -> None:
    ours = fleiss_kappa(items)
    if len({label for item in items for label in item}) == 1:
        assert ours is None
        return
    table, _ = aggregate_raters(np.array(items))
    assert close(ours, float(statsmodels_fleiss(table)))
    assert close(ours, brute_force_fleiss(items))
    assert ours is not None and ours <= 1.0


@settings(max_examples=100, deadline=None)
@given(fleiss_items())
def test_fleiss_of_unanimous_items_is_one(items: list[list[str]]) -> None:
    unanimous = [[item[0]] * len(item) for item in items]
    if len({item[0] for item in items}) > 1:
        assert fleiss_kappa(unanimous) == 1.0


def test_fleiss_rejects_uneven_rating_counts() -> None:
    with pytest.raises(ValueError, match="same number"):
        fleiss_kappa([["a", "b"], ["a", "b", "a"]])


@st.composite
def reliability_matrix(draw: st.DrawFn) -> list[list[int | None]]:
    """Raters x units, values 0..3 or None (missing)."""
    raters, units = draw(st.integers(2, 5)), draw(st.integers(1, 25))
    cell = st.one_of(st.none(), st.integers(0, 3))
    return [[draw(cell) for _ in range(units)] for _ in range(raters)]


@settings(max_examples=200, deadline=None)
@given(reliability_matrix())
def test_krippendorff_matches_package_with_missing_values(matrix: list[list[int | None]]) -> None:
    units = [[row[u] for row in matrix if row[u] is not None] for u in range(len(matrix[0]))]
    ours = krippendorff_alpha(units)
    pairable = [unit for unit in units if len(unit) >= 2]
    if len({value for unit in pairable for value in unit}) < 2:
        assert ours is None  # no pairable unit, or a single value: alpha is undefined
        return
    data = np.array([[np.nan if v is None else v for v in row] for row in matrix], dtype=float)
    assert close(ours, float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")))


def test_krippendorff_worked_example() -> None:
    """Krippendorff (2011), 'Computing Krippendorff's alpha-reliability', nominal example: alpha = 0.743."""
    nan = None
    matrix = [[1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
              [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
              [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
              [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan]]
    units = [[row[u] for row in matrix if row[u] is not None] for u in range(12)]
    assert krippendorff_alpha(units) == pytest.approx(0.743, abs=5e-4)


def test_binarise_scores_each_label_as_yes_no() -> None:
    ratings = {"d1": {"ann": ["a", "b"], "bob": ["a"]}, "d2": {"ann": [], "bob": ["b"]}}
    assert binarise(ratings, "b") == {"d1": {"ann": True, "bob": False}, "d2": {"ann": False, "bob": True}}
    assert binarise(ratings, "a") == {"d1": {"ann": True, "bob": True}, "d2": {"ann": False, "bob": False}}
