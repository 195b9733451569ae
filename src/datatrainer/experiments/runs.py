"""Per-run results of an experiment: one JSON file per finished run, written atomically.

A run is (sampler, budget, seed). Its file appears only when training and evaluation have finished, so an
interrupted experiment finds exactly the runs it still has to do; a half-written file cannot exist (temp
file + rename).
"""

from __future__ import annotations

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
