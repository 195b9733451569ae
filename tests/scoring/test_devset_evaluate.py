"""The AUC harness against brute-force pair counting, and the properties any AUC must have."""

from __future__ import annotations

from itertools import product

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from datatrainer.evaluation.fixtures.devset import GOOD, LabelledSet
from datatrainer.scoring.evaluate import auc, auc_draws, evaluate, markdown_table, paired_table


def brute_force_auc(labels: list[int], scores: list[float]) -> float:
    """Share of (good, junk) pairs ranked correctly, ties counting half: the definition itself."""
    pairs = [(g, j) for g, j in product(range(len(labels)), repeat=2) if labels[g] == 1 and labels[j] == 0]
    return sum(1.0 if scores[g] > scores[j] else 0.5 if scores[g] == scores[j] else 0.0 for g, j in pairs) / len(pairs)


def small_set(families: list[str]) -> LabelledSet:
    n = len(families)
    return LabelledSet("dev", [f"t{i}" for i in range(n)], [f"text {i}" for i in range(n)],
                       np.array([int(f == GOOD) for f in families], dtype=np.int8), families, ["doc"] * n)


def test_overall_and_per_family_auc_on_a_hand_case() -> None:
    families = [GOOD, "spam", GOOD, "menu", "spam", GOOD, "menu"]
    scores = [0.9, 0.8, 0.4, 0.1, 0.95, 0.4, 0.4]
    result = evaluate("hand", small_set(families), scores, passes_per_doc=1)
    labels = [int(f == GOOD) for f in families]
    assert result.auc == pytest.approx(brute_force_auc(labels, scores))
    # good 0.9, 0.4, 0.4 against spam 0.8, 0.95: 1 + 0 + 0 + 0 + 0 + 0 of 6 pairs
    assert result.per_family["spam"] == pytest.approx(1 / 6)
    # against menu 0.1, 0.4: 1 + 1 + 1 + 0.5 + 1 + 0.5 of 6 pairs
    assert result.per_family["menu"] == pytest.approx(5 / 6)
    assert set(result.per_family) == {"spam", "menu"}
    table = markdown_table([result])
    assert "| hand | **" in table and "menu" in table.splitlines()[0]


def test_non_finite_scores_and_misaligned_scores_are_errors() -> None:
    with pytest.raises(ValueError, match="not finite"):
        auc([1, 0], [np.nan, 1.0])
    with pytest.raises(ValueError, match="2 texts"):
        evaluate("short", small_set([GOOD, "spam"]), [1.0], passes_per_doc=1)


labelled_scores = st.lists(st.tuples(st.integers(0, 1), st.integers(-50, 50)), min_size=2, max_size=40)


@settings(max_examples=100, deadline=None)
@given(data=labelled_scores)
def test_matches_brute_force_and_ignores_monotone_transforms(data: list[tuple[int, int]]) -> None:
    labels, raw = [label for label, _ in data], [float(score) for _, score in data]
    assume(0 < sum(labels) < len(labels))
    value = auc(labels, raw)
    assert value == pytest.approx(brute_force_auc(labels, raw))
    scores = np.array(raw)
    for transformed in (np.exp(scores / 10), 3 * scores + 7, np.arctan(scores), 1 / (1 + np.exp(-scores / 5))):
        assert auc(labels, transformed) == pytest.approx(value)
    assert auc(labels, -scores) == pytest.approx(1 - value)


def test_paired_bootstrap_draws_and_the_two_part_table() -> None:
    rng = np.random.default_rng(1)
    labels = np.r_[np.ones(60, dtype=int), np.zeros(60, dtype=int)]
    noisy = labels + rng.normal(0, 1.0, len(labels))
    perfect = labels + rng.uniform(0, 0.5, len(labels))
    draws = auc_draws(labels, [noisy, perfect, noisy], draws=300, seed=4)
    assert draws.shape == (3, 300)
    np.testing.assert_allclose(draws[1], 1.0)  # a perfect ranking stays perfect on every resample
    assert (draws[0] == draws[2]).all()  # the same resamples for every scoring: paired differences
    assert np.array_equal(draws, auc_draws(labels, [noisy, perfect, noisy], draws=300, seed=4))
    low, high = np.quantile(draws[0], [0.025, 0.975])
    assert low < auc(labels, noisy) < high and 0.02 < high - low < 0.3

    data = small_set([GOOD, "spam", GOOD, "menu"])
    first, second = evaluate("m", data, [1.0, 0.0, 0.9, 0.1], 1, 0.5, "n"), evaluate("m", data, [0, 1, 0.9, 0.1], 1)
    table = paired_table([(first, second), (first, None)])
    assert table.splitlines()[0] == "| method | dev ROC-AUC | pool ROC-AUC | LLM passes/doc | s/doc | note |"
    assert table.splitlines()[2] == f"| m | **1.000** | **{second.auc:.3f}** | 1 | 0.500 | n |"
    assert table.splitlines()[3] == "| m | **1.000** |  | 1 | 0.500 | n |"
