"""HumanEval end to end: generate completions, run each problem's tests in the sandbox, estimate pass@k.

Generation is the slow part (minutes to hours on a CPU), so each finished completion is appended to a JSONL
cache named by the model's and the settings' hash: an interrupted run resumes with the completions it has not
made yet. Tests run in parallel sandboxed processes (a thread per process waits on it).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from datatrainer.evaluation.generation import Generator
from datatrainer.evaluation.humaneval.passk import mean_pass_at_k
from datatrainer.evaluation.humaneval.problems import (
    STOP_SEQUENCES,
    Problem,
    completion_from_answer,
    completion_from_continuation,
    instruction,
    program,
)
from datatrainer.evaluation.humaneval.sandbox import Sandbox
from datatrainer.progress import Advance

CHUNK = 4  # prompts per generation call: what an interruption can lose


@dataclass(frozen=True)
class HumanEvalSettings:
    samples: int = 1
    temperature: float = 0.0
    max_tokens: int = 512
    ks: tuple[int, ...] = (1,)


@dataclass(frozen=True)
class ProblemResult:
    task_id: str
    passed: tuple[bool, ...]
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class HumanEvalResult:
    problems: list[ProblemResult]
    ks: tuple[int, ...]

    def metrics(self) -> dict[str, float]:
        samples = [len(p.passed) for p in self.problems]
        correct = [sum(p.passed) for p in self.problems]
        return {**{f"pass@{k}": mean_pass_at_k(samples, correct, k) for k in self.ks},
                "problems": float(len(self.problems)), "samples": float(sum(samples))}


def generate_completions(generator: Generator, problems: Sequence[Problem], settings: HumanEvalSettings,
                         cache: Path | None = None, advance: Advance | None = None) -> dict[str, list[str]]:
    """`settings.samples` completions per problem (task id -> completions in sample order)."""
    done = _read_cache(cache) if cache is not None else {}
    if advance is not None:
        advance(sum(min(len(done.get(p.task_id, {})), settings.samples) for p in problems))
    for sample in range(settings.samples):
        todo = [p for p in problems if sample not in done.get(p.task_id, {})]
        for start in range(0, len(todo), CHUNK):
            chunk = todo[start:start + CHUNK]
            for problem, completion in zip(chunk, _generate(generator, chunk, settings, sample), strict=True):
                done.setdefault(problem.task_id, {})[sample] = completion
                if cache is not None:
                    _append(cache, {"task_id": problem.task_id, "sample": sample, "completion": completion})
            if advance is not None:
                advance(len(chunk))
    return {p.task_id: [done[p.task_id][s] for s in range(settings.samples)] for p in problems}


def check_completions(problems: Sequence[Problem], completions: dict[str, list[str]], sandbox: Sandbox,
                      workers: int | None = None, advance: Advance | None = None) -> list[ProblemResult]:
    """Run every completion's program in its own sandboxed process, `workers` at a time."""
    jobs = [(problem, completion) for problem in problems for completion in completions[problem.task_id]]

    def check(job: tuple[Problem, str]) -> tuple[bool, str]:
        outcome = sandbox.run(program(*job))
        if advance is not None:
            advance(1)
        return outcome.passed, outcome.reason

    with ThreadPoolExecutor(max_workers=workers or len(os.sched_getaffinity(0))) as pool:
        outcomes = iter(list(pool.map(check, jobs)))
    results = []
    for problem in problems:
        mine = [next(outcomes) for _ in completions[problem.task_id]]
        results.append(ProblemResult(problem.task_id, tuple(p for p, _ in mine), tuple(r for _, r in mine)))
    return results


def cache_name(generator: Generator, settings: HumanEvalSettings) -> str:
    """The completions cache's file name: same model and generation settings, same file."""
    key = json.dumps({"model": generator.config(), "chat": generator.chat_template,
                      **{k: v for k, v in asdict(settings).items() if k != "ks"}}, sort_keys=True, default=str)
    return f"humaneval-{generator.name}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.jsonl"


def _generate(generator: Generator, problems: Sequence[Problem], settings: HumanEvalSettings,
              sample: int) -> list[str]:
    if generator.chat_template:
        answers = generator.chat([instruction(p) for p in problems], max_tokens=settings.max_tokens,
                                 temperature=settings.temperature, seed=sample)
        return [completion_from_answer(p, a) for p, a in zip(problems, answers, strict=True)]
    texts = generator.complete([p.prompt for p in problems], max_tokens=settings.max_tokens,
                               temperature=settings.temperature, seed=sample, stop=STOP_SEQUENCES)
    return [completion_from_continuation(text) for text in texts]


def _read_cache(path: Path) -> dict[str, dict[int, str]]:
    done: dict[str, dict[int, str]] = {}
    if not path.is_file():
        return done
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:  # the line an interruption cut short
            continue
        done.setdefault(row["task_id"], {})[int(row["sample"])] = row["completion"]
    return done


def _append(path: Path, row: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(row) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
