"""A training run inside a job reports its optimizer steps as the job's progress."""

from __future__ import annotations

from typing import Any

from datatrainer.progress import Advance, observed


def job_callbacks() -> list[Any]:
    """`[callback]` feeding the running job's progress from a transformers Trainer (a no-op outside a job)."""
    from transformers import TrainerCallback

    class StepProgress(TrainerCallback):
        def __init__(self) -> None:
            self.advance: Advance | None = None
            self.step = 0

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.advance, self.step = observed("training steps", state.max_steps, lambda amount: None), 0
            self.on_step_end(args, state, control)

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if self.advance is not None and state.global_step > self.step:
                self.advance(state.global_step - self.step)
                self.step = state.global_step

    return [StepProgress()]
