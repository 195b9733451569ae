"""Per-run results of an experiment: one JSON file per finished run, written atomically.

A run is (sampler, budget, seed). Its file appears only when training and evaluation have finished, so an
interrupted experiment finds exactly the runs it still has to do; a half-written file cannot exist (temp
file + rename). While a process trains a run it holds `NAME.lock` (its pid, created exclusively), so several
processes can work through one experiment side by side without training the same run twice; the lock of a
process that died is taken over.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel

from datatrainer.quality.report import write_atomic

FULL = "full"  # the sampler name of the budget-100 run, shared by all samplers


class RunKey(BaseModel, frozen=True):
    sampler: str
    budget: int
    seed: int

    @property
    def name(self) -> str:
        return f"{self.sampler}-{self.budget}-s{self.seed}"


class RunResult(BaseModel):
    """What one training run produced: the sample it trained on and its evaluation curve."""

    key: RunKey
    sample: str  # the version trained on
    records: int
    composition: dict[str, int]  # records per kind of the pool (clean, junk, duplicates) when the pool says
    model: str  # the trained model's name
    eval_steps: list[int]
    eval_losses: list[float]
    train_steps: list[int]
    train_losses: list[float]
    seconds: float  # wall-clock time of training and evaluation
    cpu_seconds: float = 0.0  # CPU time of this process meanwhile (all threads)


class RunStore:
    """The folder of run files for one experiment configuration."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, key: RunKey) -> Path:
        return self.folder / f"{key.name}.json"

    def get(self, key: RunKey) -> RunResult | None:
        path = self.path(key)
        return RunResult.model_validate_json(path.read_bytes()) if path.exists() else None

    def put(self, result: RunResult) -> None:
        write_atomic(self.path(result.key), result.model_dump_json(indent=1))

    def claim(self, key: RunKey) -> bool:
        """Hold the run for this process; False when another live process holds it."""
        lock = self.folder / f"{key.name}.lock"
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            handle = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            holder = _pid(lock)
            if holder not in (None, os.getpid()) and _alive(holder):
                return False
            lock.unlink(missing_ok=True)  # left by a process that is gone
            return self.claim(key)
        with os.fdopen(handle, "w") as file:
            file.write(str(os.getpid()))
        return True

    def release(self, key: RunKey) -> None:
        (self.folder / f"{key.name}.lock").unlink(missing_ok=True)


def _pid(lock: Path) -> int | None:
    try:
        return int(lock.read_text())
    except (OSError, ValueError):
        return None


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
