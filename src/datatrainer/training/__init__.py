"""Fine-tuning (transformers, peft LoRA, TRL SFT) and the model registry.

The registry (`ws.models`) imports no torch; training and loading do, and are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from datatrainer.training.config import TINY_GPT, TrainConfig
from datatrainer.training.registry import EvaluationRecord, ModelRegistry, TrainedModel

if TYPE_CHECKING:
    from datatrainer.training.run import TrainingInterrupted, TrainResult, train
    from datatrainer.training.trained import export_model, load_trained

__all__ = ["TINY_GPT", "EvaluationRecord", "ModelRegistry", "TrainConfig", "TrainResult", "TrainedModel",
           "TrainingInterrupted", "export_model", "load_trained", "train"]

_LAZY = {"train": "run", "TrainResult": "run", "TrainingInterrupted": "run", "load_trained": "trained",
         "export_model": "trained"}


def __getattr__(name: str) -> Any:
    """Torch-heavy names load on first use, so `import datatrainer.training` stays cheap."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"datatrainer.training.{_LAZY[name]}"), name)
    raise AttributeError(name)
