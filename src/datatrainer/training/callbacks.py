"""Trainer callbacks: a Rich progress bar with loss and tokens/s, the loss history, and Ctrl-C handling.

Ctrl-C does not kill the process mid-step: the first one asks the trainer to save a checkpoint at the end of
the current step and stop, so `--resume` continues exactly there; a second Ctrl-C interrupts at once.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR


class History(TrainerCallback):
    """Every logged train and eval loss with the step, tokens seen and seconds of training so far.

    The records up to a checkpoint are saved inside it (`history.json`), so a resumed run's history is the
    uninterrupted one's: the losses from before the interruption come back with the checkpoint.
    """

    FILE = "history.json"

    def __init__(self, tokens_per_step: int, checkpoint: Path | None = None) -> None:
        self.tokens_per_step = tokens_per_step
        self.records: list[dict[str, Any]] = []
        if checkpoint is not None and (checkpoint / self.FILE).is_file():
            self.records = orjson.loads((checkpoint / self.FILE).read_bytes())
        self._offset = self.records[-1]["elapsed"] if self.records else 0.0
        self.recording = True
        self._started = time.perf_counter()

    def on_log(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
               logs: dict[str, float] | None = None, **kwargs: Any) -> None:
        if not logs or not self.recording:
            return
        base = {"step": state.global_step, "tokens": state.global_step * self.tokens_per_step,
                "elapsed": round(self._offset + time.perf_counter() - self._started, 3)}
        if "loss" in logs:
            self.records.append({**base, "train_loss": float(logs["loss"])})
        if "eval_loss" in logs:
            self.records.append({**base, "eval_loss": float(logs["eval_loss"])})

    def on_save(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                **kwargs: Any) -> None:
        folder = Path(args.output_dir or ".") / f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}"
        if folder.is_dir():
            (folder / self.FILE).write_bytes(orjson.dumps(self.records))


class RichProgress(TrainerCallback):
    """A progress bar over optimizer steps showing the latest train/eval loss and throughput."""

    def __init__(self, tokens_per_step: int, description: str) -> None:
        self.tokens_per_step = tokens_per_step
        self.description = description
        self._progress: Progress | None = None
        self._task: Any = None
        self._loss = "-"
        self._eval = "-"
        self._first_step = 0
        self._started = 0.0

    def on_train_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                       **kwargs: Any) -> None:
        self._progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TextColumn("loss {task.fields[loss]} eval {task.fields[eval]} "
                                             "{task.fields[speed]} tok/s"),
                                  TimeElapsedColumn(), TimeRemainingColumn(), console=Console(stderr=True))
        self._progress.start()
        self._task = self._progress.add_task(self.description, total=state.max_steps, completed=state.global_step,
                                             loss="-", eval="-", speed="-")
        self._first_step, self._started = state.global_step, time.perf_counter()

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                    **kwargs: Any) -> None:
        if self._progress is None:
            return
        elapsed = time.perf_counter() - self._started
        speed = (state.global_step - self._first_step) * self.tokens_per_step / elapsed if elapsed > 0 else 0.0
        self._progress.update(self._task, completed=state.global_step, loss=self._loss, eval=self._eval,
                              speed=f"{speed:,.0f}")

    def on_log(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
               logs: dict[str, float] | None = None, **kwargs: Any) -> None:
        if logs and "loss" in logs and math.isfinite(logs["loss"]):
            self._loss = f"{logs['loss']:.3f}"
        if logs and "eval_loss" in logs:
            self._eval = f"{logs['eval_loss']:.3f}"

    def on_train_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                     **kwargs: Any) -> None:
        self.stop()

    def stop(self) -> None:
        """End the live display (also when training fails, which skips `on_train_end`)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


class GracefulInterrupt(TrainerCallback):
    """Turns the first SIGINT into "save a checkpoint after this step and stop" (main thread only)."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def __enter__(self) -> GracefulInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:  # a second Ctrl-C: the user does not want to wait for the step to finish
            raise KeyboardInterrupt
        self.requested = True

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                    **kwargs: Any) -> None:
        if self.requested:
            control.should_save = True
            control.should_training_stop = True
