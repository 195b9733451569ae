"""`TrainConfig`: everything that decides what a training run computes, validated up front.

Every field has a flag on `datatrainer train`. The config (with defaults that depend on the model filled in)
is hashed into the model's lineage, so two models trained with the same config on the same data are
recognisably the same recipe, and `--resume` refuses to continue a run under a different config.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from datatrainer.errors import DatatrainerError
from datatrainer.scoring.configs import config_hash

Method = Literal["full", "lora"]
Device = Literal["auto", "cpu", "cuda"]
TINY_GPT = "tiny-gpt"
TINY_KEYS = ("n_layer", "n_head", "n_embd", "n_positions")
# A few million parameters (most of them the 49k-token embedding shared with the output head): trains at
# useful speed on 2 CPU cores.
TINY_DEFAULTS = {"n_layer": 4, "n_head": 4, "n_embd": 128}
# From-scratch training tolerates (and needs) a much larger step than fine-tuning pretrained weights.
DEFAULT_LEARNING_RATES = {"scratch": 1e-3, "lora": 2e-4, "full": 5e-5}


@dataclass(frozen=True)
class TrainConfig:
    """How to train: model, method, data fields, sequence handling, schedule, evaluation and checkpoints.

    `learning_rate=None` picks a default that suits the model and method (see `DEFAULT_LEARNING_RATES`).
    `eval_fraction` holds out records of the training version (chosen by a hash of their id, so the split is
    the same on every run); `eval_version` evaluates on another version instead.
    """

    model: str
    method: Method = "full"
    text_field: str = "text"
    prompt_field: str | None = None
    response_field: str | None = None
    tokenizer: str | None = None
    tiny: dict[str, int] | None = None
    seq_len: int = 256
    packing: bool = True
    batch_size: int = 8
    grad_accum: int = 1
    learning_rate: float | None = None
    max_steps: int | None = None
    epochs: float = 1.0
    warmup_steps: int = 0
    eval_fraction: float = 0.05
    eval_version: str | None = None
    eval_every: int = 50
    save_every: int = 100
    early_stopping_patience: int | None = None
    seed: int = 0
    device: Device = "auto"
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)  # recorded with the lineage, not used by training

    def __post_init__(self) -> None:
        if self.method not in ("full", "lora"):
            raise DatatrainerError(f"unknown training method {self.method!r}: use full or lora")
        if self.device not in ("auto", "cpu", "cuda"):
            raise DatatrainerError(f"unknown device {self.device!r}: use auto, cpu or cuda")
        if (self.prompt_field is None) != (self.response_field is None):
            raise DatatrainerError("instruction data needs both --prompt-field and --response-field")
        for name in ("seq_len", "batch_size", "grad_accum", "eval_every", "save_every", "lora_r", "lora_alpha"):
            if getattr(self, name) < 1:
                raise DatatrainerError(f"--{name.replace('_', '-')} must be at least 1")
        if self.seq_len < 2:
            raise DatatrainerError("--seq-len must be at least 2 (a token and the one that follows it)")
        if self.max_steps is not None and self.max_steps < 1:
            raise DatatrainerError("--max-steps must be at least 1")
        if self.epochs <= 0:
            raise DatatrainerError("--epochs must be positive")
        if not 0.0 <= self.eval_fraction < 1.0:
            raise DatatrainerError("--eval-fraction must be in [0, 1)")
        if self.learning_rate is not None and self.learning_rate <= 0:
            raise DatatrainerError("--learning-rate must be positive")
        if self.early_stopping_patience is not None and self.early_stopping_patience < 1:
            raise DatatrainerError("--early-stopping-patience must be at least 1")
        if self.tiny is not None:
            unknown = sorted(set(self.tiny) - set(TINY_KEYS))
            if unknown:
                raise DatatrainerError(f"unknown tiny-gpt setting(s) {', '.join(unknown)}: use {', '.join(TINY_KEYS)}")
            if self.model != TINY_GPT:
                raise DatatrainerError(f"--tiny settings apply to --model {TINY_GPT} only")

    @property
    def from_scratch(self) -> bool:
        return self.model == TINY_GPT

    @property
    def instruction(self) -> bool:
        """Instruction/response data (supervised fine-tuning with the loss on the response only)."""
        return self.prompt_field is not None

    @property
    def fields(self) -> tuple[str, ...]:
        """The dataset columns this config reads."""
        if self.prompt_field is not None and self.response_field is not None:
            return (self.prompt_field, self.response_field)
        return (self.text_field,)

    def resolved_learning_rate(self) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        return DEFAULT_LEARNING_RATES["scratch" if self.from_scratch else self.method]

    def tiny_config(self) -> dict[str, int]:
        """The tiny-gpt architecture: defaults, then overrides; positions cover the sequence length."""
        return {**TINY_DEFAULTS, "n_positions": self.seq_len, **(self.tiny or {})}

    def to_dict(self) -> dict[str, Any]:
        """The config as recorded in the registry, with model-dependent defaults filled in."""
        data = dataclasses.asdict(self)
        data["learning_rate"] = self.resolved_learning_rate()
        if self.from_scratch:
            data["tiny"] = self.tiny_config()
        return data

    def config_hash(self) -> str:
        """Hash of what decides the trained weights; checkpoint cadence and lineage notes do not."""
        data = self.to_dict()
        for name in ("save_every", "extra"):
            data.pop(name)
        return config_hash(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})
