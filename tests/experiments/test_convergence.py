"""Steps to the full-data loss against a brute-force reference, and the report's aggregation over seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from datatrainer.errors import DatatrainerError
from datatrainer.experiments.convergence import final_loss, steps_to_reach
from datatrainer.experiments.report import build_report
from datatrainer.experiments.runs import FULL, RunKey, RunResult
from datatrainer.experiments.samplers import parse_budgets, parse_samplers


def brute_force(steps: list[int], losses: list[float], target: float) -> int | None:
    for step, loss in zip(steps, losses, strict=True):
        if not math.isnan(loss) and loss <= target:
            return step
    return None


losses_strategy = st.lists(st.one_of(st.floats(0.5, 10.0), st.just(math.nan)), min_size=1, max_size=40)


@given(losses_strategy, st.floats(0.0, 11.0), st.integers(1, 50))
def test_steps_to_reach_matches_brute_force(losses: list[float], target: float, every: int) -> None:
    steps = [every * (i + 1) for i in range(len(losses))]
    assert steps_to_reach(steps, losses, target) == brute_force(steps, losses, target)


def test_synthetic_curves_exponential_decay() -> None:
    """Curves L(t) = a + b exp(-t / tau): the faster curve reaches a common target earlier, at the step the
    closed form gives (rounded up to the evaluation grid)."""
    steps = list(range(10, 510, 10))
    slow = [2.0 + 3.0 * np.exp(-t / 150) for t in steps]
    fast = [2.0 + 3.0 * np.exp(-t / 70) for t in steps]
    target = final_loss(slow)
    exact = -70 * np.log((target - 2.0) / 3.0)  # where the fast curve equals the target
    assert steps_to_reach(steps, fast, target) == math.ceil(exact / 10) * 10
    assert steps_to_reach(steps, slow, target) == steps[-1]
    assert steps_to_reach(steps, [t + 1 for t in slow], target) is None


def _run(sampler: str, budget: int, seed: int, losses: list[float]) -> RunResult:
    return RunResult(key=RunKey(sampler=sampler, budget=budget, seed=seed), sample="x@1", records=10,
                     composition={"clean": 6, "junk": 4}, model="m", eval_steps=[10 * (i + 1) for i in
                                                                                 range(len(losses))],
                     eval_losses=losses, train_steps=[], train_losses=[], seconds=1.0)


def test_report_targets_are_per_seed() -> None:
    """Each seed's target is its own full-data final loss; a seed that misses it counts as not reached."""
    results = [_run(FULL, 100, 0, [5, 4, 3, 2.5]), _run(FULL, 100, 1, [5, 4, 3.5, 3.0]),
               _run("a", 20, 0, [4, 2.4, 2.2, 2.3]), _run("a", 20, 1, [5, 5, 5, 5])]
    report = build_report("e", "p@1", "v@1", {}, results)
    assert report.targets == [2.5, 3.0]
    row = next(r for r in report.rows if r.sampler == "a")
    assert row.steps_to_target == [20, None]
    assert row.share_of_full_steps == [0.5, None]
    assert row.composition == {"clean": 0.6, "junk": 0.4}
    assert report.best() is None  # not reached in every seed
    full = next(r for r in report.rows if r.sampler == FULL)
    assert full.steps_to_target == [40, 40]
    curve = next(c for c in report.curves if c.sampler == "a")
    assert curve.mean == [4.5, 3.7, 3.6, 3.65] and curve.low == [4, 2.4, 2.2, 2.3] and curve.high == [5] * 4


@pytest.mark.parametrize(("text", "message"), [
    ("random,bogus", "unknown sampler 'bogus'"), (",", "unknown sampler (none given)")])
def test_unknown_sampler_is_one_line(text: str, message: str) -> None:
    with pytest.raises(DatatrainerError, match=message.replace("(", r"\(").replace(")", r"\)")) as caught:
        parse_samplers(text)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("text", ["0", "120", "abc", "20,-5", "50.5", ""])
def test_bad_budget_is_one_line(text: str) -> None:
    with pytest.raises(DatatrainerError, match="--budgets") as caught:
        parse_budgets(text)
    assert "\n" not in str(caught.value)


def test_budgets_always_include_the_full_data() -> None:
    assert parse_budgets("60,20") == (20, 60, 100)
    assert parse_samplers("random, d4,random") == ("random", "d4")
