"""The conformance suite every registered sampler passes (as scikit-learn's estimator checks): the budget
is respected, indices are valid and unique, a seed reproduces its selection, budgets 0 and 100% work, bad
budgets are refused in one line, and tiny or tied inputs are handled."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from datatrainer.errors import DatatrainerError
from datatrainer.sampling import Budget, Sampler, SamplerInputs, Selection, make_sampler, sampler_names
from tests.sampling.sampling_helpers import inputs

SAMPLERS = sampler_names()
BAD_BUDGETS = ["-1", "-5%", "150%", "1.5", "nan", "NaN%", "inf", "abc", "", "%", "25%%", "1e3", "0x10", "2 5"]


@pytest.fixture(params=SAMPLERS)
def sampler(request: pytest.FixtureRequest) -> Sampler[Any]:
    return make_sampler(request.param)


@pytest.fixture(scope="module")
def data() -> SamplerInputs:
    return inputs(240)


def check_selection(sampler: Sampler[Any], selection: Selection, rows: int, k: int) -> None:
    """Valid, unique, sorted row indices; exactly k of them, or, for samplers that may fall short, the
    shortfall reported."""
    kept = selection.indices
    assert kept.dtype == np.int64 and kept.ndim == 1
    assert len(np.unique(kept)) == len(kept) and (np.diff(kept) > 0).all()
    assert ((kept >= 0) & (kept < rows)).all()
    assert selection.stats["kept"] == len(kept)
    if sampler.exact_budget:
        assert len(kept) == k
    else:
        assert len(kept) <= k and selection.stats["short_of_budget"] == k - len(kept)


def same(a: Selection, b: Selection) -> bool:
    return np.array_equal(a.indices, b.indices) and a.stats == b.stats


@pytest.mark.parametrize("k", [1, 7, 120, 239])
def test_budget_respected(sampler: Sampler[Any], data: SamplerInputs, k: int) -> None:
    check_selection(sampler, sampler.select(data, k, seed=0), data.rows, k)


def test_seed_reproducible(sampler: Sampler[Any], data: SamplerInputs) -> None:
    first, again = sampler.select(data, 60, seed=3), make_sampler(sampler.name).select(data, 60, seed=3)
    assert same(first, again)
    if sampler.seeded:
        assert not np.array_equal(first.indices, sampler.select(data, 60, seed=4).indices)


def test_budget_zero_and_all(sampler: Sampler[Any], data: SamplerInputs) -> None:
    none = sampler.select(data, Budget.parse("0%").resolve(data.rows), seed=0)
    assert len(none.indices) == 0 and none.stats["kept"] == 0
    assert len(sampler.select(data, Budget.parse("0").resolve(data.rows), seed=0).indices) == 0
    # The data has no near-duplicates, so even the deduplicating samplers keep everything at 100%.
    for budget in ("100%", "1.0", str(data.rows)):
        everything = sampler.select(data, Budget.parse(budget).resolve(data.rows), seed=0)
        assert np.array_equal(everything.indices, np.arange(data.rows)), budget


@pytest.mark.parametrize("bad", BAD_BUDGETS)
def test_bad_budgets_rejected(bad: str) -> None:
    with pytest.raises(DatatrainerError) as caught:
        Budget.parse(bad)
    message = str(caught.value)
    assert "\n" not in message and f"budget {bad.strip()!r}" in message


def test_budget_larger_than_the_data_rejected(sampler: Sampler[Any], data: SamplerInputs) -> None:
    with pytest.raises(DatatrainerError, match=r"^budget '241' asks for 241 records but there are only 240$"):
        Budget.parse("241").resolve(data.rows)
    for k in (-1, data.rows + 1):
        with pytest.raises(DatatrainerError, match=f"cannot keep {k:,} of 240 records"):
            sampler.select(data, k, seed=0)


@pytest.mark.parametrize("rows", [1, 2])
def test_tiny_inputs(sampler: Sampler[Any], rows: int) -> None:
    data = inputs(rows)
    for k in range(rows + 1):
        selection = sampler.select(data, k, seed=0)
        check_selection(sampler, selection, rows, k)
        assert same(selection, sampler.select(data, k, seed=0))


def test_ties(sampler: Sampler[Any]) -> None:
    """Every row the same (embedding, score, text): still a valid, reproducible selection."""
    rows = 50
    tied = SamplerInputs.of([str(i) for i in range(rows)], embeddings=np.ones((rows, 8)), scores=np.ones(rows),
                            texts=["same words here"] * rows, target_texts=["same words"])
    for k in (1, 20):
        selection = sampler.select(tied, k, seed=0)
        check_selection(sampler, selection, rows, k)
        assert same(selection, sampler.select(tied, k, seed=0))


def test_missing_inputs_and_options_rejected(sampler: Sampler[Any]) -> None:
    bare = SamplerInputs.of(["a", "b", "c"])
    assert len(sampler.select(bare, 0, seed=0).indices) == 0  # keeping nothing needs nothing
    if sampler.needs:
        with pytest.raises(DatatrainerError, match=f"sampler {sampler.name!r} needs "):
            sampler.select(bare, 1, seed=0)
    else:
        check_selection(sampler, sampler.select(bare, 1, seed=0), 3, 1)
    with pytest.raises(DatatrainerError, match=f"sampler {sampler.name!r}: no-such-option: Extra inputs"):
        make_sampler(sampler.name, {"no_such_option": 1})


def test_unknown_sampler() -> None:
    with pytest.raises(DatatrainerError, match=r"unknown sampler 'nope'; known: .*random"):
        make_sampler("nope")


@pytest.mark.parametrize(("text", "rows", "expected"), [
    ("25%", 10, 2), ("0.25", 10, 2), ("25.5%", 200, 51), ("100%", 7, 7), ("1.0", 7, 7), ("0", 5, 0), ("3", 5, 3),
    (" 40 % ", 10, 4), ("0.1", 3, 0), (".5", 4, 2), ("33.333%", 3, 0)])
def test_budget_forms(text: str, rows: int, expected: int) -> None:
    assert Budget.parse(text).resolve(rows) == expected
