"""`train()`: fine-tune (or train from scratch) a causal LM on a dataset version and register the result.

The Hugging Face `Trainer` does the loop (checkpoints, resume, evaluation, early stopping); TRL's
`SFTTrainer` does it for instruction data (chat template, loss on the response only); `peft` adds LoRA.
A run lives in `runs/<name>/` (its config and checkpoints) until it finishes; the finished model is written
to a temporary folder, renamed into `models/` and registered in one transaction, and the run folder goes.
`resume=True` continues from the run's last checkpoint with the same data order, RNG state, optimizer and
schedule, so the loss curve is the one an uninterrupted run draws.
"""

from __future__ import annotations

import importlib
import math
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import torch

from datatrainer.errors import DatatrainerError, NotFoundError
from datatrainer.models.lm.hf_tokenizer import transformers_module
from datatrainer.security.audit import version_facts
from datatrainer.store.versions import DatasetVersion
from datatrainer.training.callbacks import GracefulInterrupt, History, RichProgress
from datatrainer.training.config import TINY_GPT, TrainConfig
from datatrainer.training.data import check_fields, instruction_table, split_batches, token_blocks
from datatrainer.training.loading import base_model_and_tokenizer, offline, quiet_deprecations
from datatrainer.training.registry import TrainedModel, validate_model_name

if TYPE_CHECKING:
    from transformers import Trainer, TrainerCallback

    from datatrainer.workspace import Workspace

RUNS_DIR = "runs"
RUN_FILE = "run.json"
LINEAGE_FILE = "training.json"
KEEP_CHECKPOINTS = 2
CHECKPOINT_PREFIX = "checkpoint"  # transformers names checkpoints checkpoint-<step>


@dataclass(frozen=True)
class TrainResult:
    """The registered model and its loss history (each entry: step, train_loss or eval_loss, tokens,
    elapsed seconds)."""

    model: TrainedModel
    history: list[dict[str, Any]]


class TrainingInterrupted(DatatrainerError):
    """Training stopped on Ctrl-C after saving a checkpoint; the message says how to resume."""


def run_folder(ws: Workspace, name: str) -> Path:
    return ws.root / RUNS_DIR / name


def train(ws: Workspace, version_ref: str | DatasetVersion, config: TrainConfig, name: str, *,
          resume: bool = False, progress: bool = True, callbacks: Sequence[TrainerCallback] = ()) -> TrainResult:
    """Train `config.model` on a version and register it as `name`. `callbacks` are extra transformers
    `TrainerCallback`s (e.g. an experiment's own logging)."""
    with quiet_deprecations():
        return _train(ws, version_ref, config, name, resume, progress, callbacks)


def _train(ws: Workspace, version_ref: str | DatasetVersion, config: TrainConfig, name: str, resume: bool,
           progress: bool, callbacks: Sequence[TrainerCallback]) -> TrainResult:
    validate_model_name(name)
    if ws.models.find(name) is not None:
        raise DatatrainerError(f"a model named {name!r} already exists: choose another --out")
    version = ws.version(version_ref)
    check_fields(version, config)
    if config.method == "lora" and config.from_scratch:
        raise DatatrainerError(f"LoRA adapts pretrained weights and {TINY_GPT} starts from random ones: "
                               "use --method full")
    eval_source = ws.version(config.eval_version) if config.eval_version else None
    if eval_source is not None:
        check_fields(eval_source, config)
    folder = run_folder(ws, name)
    checkpoint = _resume_point(folder, name, version, config) if resume else None
    if not resume:
        _fresh_run(folder, name)

    offline()
    transformers = transformers_module()
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    transformers.set_seed(config.seed)
    model, tokenizer = base_model_and_tokenizer(config)
    if config.method == "lora":
        model = _with_lora(model, config)
    trainer, tokens_per_step = _build_trainer(model, tokenizer, version, eval_source, config, folder)
    if not resume:
        _record_run(folder, version, config)
    trainer.remove_callback(transformers.PrinterCallback)  # it prints every log dict; the bar shows them
    history = History(tokens_per_step, checkpoint)
    trainer.add_callback(history)
    bar = RichProgress(tokens_per_step, f"train {name}") if progress else None
    if bar is not None:
        trainer.add_callback(bar)
    for callback in callbacks:
        trainer.add_callback(callback)
    started = time.perf_counter()
    with GracefulInterrupt() as interrupt:
        trainer.add_callback(interrupt)
        try:
            output = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
        except BaseException as exc:
            if not any(folder.glob(f"{CHECKPOINT_PREFIX}-*")):
                shutil.rmtree(folder, ignore_errors=True)  # nothing to resume: a retry starts afresh
            if isinstance(exc, torch.OutOfMemoryError | MemoryError) or (
                    isinstance(exc, RuntimeError) and ("can't allocate memory" in str(exc)
                                                       or "out of memory" in str(exc).lower())):
                raise _out_of_memory(config) from exc
            raise
        finally:
            if bar is not None:
                bar.stop()
    if interrupt.requested:
        raise TrainingInterrupted(f"interrupted at step {trainer.state.global_step} of {trainer.state.max_steps}; "
                                  f"a checkpoint is saved in {folder}: run the same command with --resume to "
                                  "continue")
    history.recording = False  # the closing evaluation (of the best checkpoint, with early stopping) is a metric
    metrics = _final_metrics(trainer, output.training_loss, history.records, tokens_per_step,
                             time.perf_counter() - started)
    return TrainResult(_publish(ws, trainer, tokenizer, version, config, name, metrics, history.records),
                       history.records)


def _run_record(version: DatasetVersion, config: TrainConfig) -> dict[str, Any]:
    return {"version": version.ref, "config": config.to_dict(), "config_hash": config.config_hash()}


def _resume_point(folder: Path, name: str, version: DatasetVersion, config: TrainConfig) -> Path | None:
    """The checkpoint an interrupted run continues from, after checking it is the same run."""
    recorded = folder / RUN_FILE
    if not recorded.is_file():
        runs = sorted(p.name for p in folder.parent.glob("*") if (p / RUN_FILE).is_file())
        raise NotFoundError(f"no interrupted training run named {name!r} to resume (interrupted runs: "
                            f"{', '.join(runs) or 'none'})")
    previous = orjson.loads(recorded.read_bytes())
    if previous["version"] != version.ref or previous["config_hash"] != config.config_hash():
        raise DatatrainerError(f"run {name!r} was started on {previous['version']} with config "
                               f"{previous['config_hash']}; resume it with the same version and flags")
    last = transformers_module().trainer_utils.get_last_checkpoint(str(folder))
    return Path(last) if last else None


def _fresh_run(folder: Path, name: str) -> None:
    if (folder / RUN_FILE).is_file():
        raise DatatrainerError(f"an interrupted run named {name!r} exists: add --resume to continue it, or remove "
                               f"{folder} to start over")
    shutil.rmtree(folder, ignore_errors=True)  # a run that failed before training started left nothing useful


def _record_run(folder: Path, version: DatasetVersion, config: TrainConfig) -> None:
    """Written once the model, data and trainer are ready: from here on, an interruption is resumable."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / RUN_FILE).write_bytes(orjson.dumps(_run_record(version, config), option=orjson.OPT_INDENT_2))


def _with_lora(model: Any, config: TrainConfig) -> Any:
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules="all-linear", task_type="CAUSAL_LM")
    return get_peft_model(model, lora)


def _use_cuda(config: TrainConfig) -> bool:
    available = torch.cuda.is_available()
    if config.device == "cuda" and not available:
        raise DatatrainerError("--device cuda: torch sees no CUDA GPU here (use --device cpu or auto)")
    return config.device == "cuda" or (config.device == "auto" and available)


def _build_trainer(model: Any, tokenizer: Any, version: DatasetVersion, eval_source: DatasetVersion | None,
                   config: TrainConfig, folder: Path) -> tuple[Trainer, int]:
    """A `Trainer` (plain text) or TRL `SFTTrainer` (instruction data), and the tokens one step consumes."""
    transformers = transformers_module()
    fraction = 0.0 if eval_source is not None else config.eval_fraction
    eval_from, eval_fraction_kept = (eval_source, 0.0) if eval_source is not None else (version, fraction)

    def batches(source: DatasetVersion, part: str, split: float) -> Any:
        return split_batches(source, config.fields, split, part)

    cuda = _use_cuda(config)
    arguments: dict[str, Any] = {
        "output_dir": str(folder), "per_device_train_batch_size": config.batch_size,
        "per_device_eval_batch_size": config.batch_size, "gradient_accumulation_steps": config.grad_accum,
        "learning_rate": config.resolved_learning_rate(), "max_steps": config.max_steps or -1,
        "num_train_epochs": config.epochs, "warmup_steps": config.warmup_steps, "logging_strategy": "steps",
        "logging_steps": 1, "save_strategy": "steps", "save_steps": config.save_every,
        "save_total_limit": KEEP_CHECKPOINTS, "seed": config.seed, "data_seed": config.seed, "report_to": "none",
        "disable_tqdm": True, "use_cpu": not cuda, "bf16": cuda and torch.cuda.is_bf16_supported(),
        "dataloader_num_workers": 0, "remove_unused_columns": False, "log_level": "error",
    }
    tokens_per_step = config.batch_size * config.grad_accum * config.seq_len
    if config.instruction:
        import datasets

        datasets.disable_progress_bars()  # TRL's dataset preparation draws tqdm bars; ours shows the training
        trl: Any = importlib.import_module("trl")

        assert config.prompt_field is not None and config.response_field is not None
        conversational = bool(tokenizer.chat_template)

        def table(source: DatasetVersion, part: str, split: float) -> Any:
            rows = instruction_table(batches(source, part, split), config.prompt_field or "",
                                     config.response_field or "", conversational)
            return datasets.Dataset(rows) if rows.num_rows else None

        train_set = table(version, "train", fraction)
        eval_set = table(eval_from, "eval" if eval_source is None else "train", eval_fraction_kept)
        _require_data(train_set is not None, version, config)
        arguments.update(_eval_arguments(config, eval_set is not None), max_length=config.seq_len, packing=False,
                         completion_only_loss=True, dataset_num_proc=None)
        arguments["remove_unused_columns"] = True
        trainer: Trainer = trl.SFTTrainer(model=model, args=trl.SFTConfig(**arguments), train_dataset=train_set,
                                      eval_dataset=eval_set, processing_class=tokenizer,
                                      callbacks=_early_stopping(config, eval_set is not None))
        return trainer, tokens_per_step
    train_blocks = token_blocks(batches(version, "train", fraction), config.text_field, tokenizer, config.seq_len,
                                config.packing)
    _require_data(len(train_blocks) > 0, version, config)
    eval_blocks = token_blocks(batches(eval_from, "eval" if eval_source is None else "train", eval_fraction_kept),
                               config.text_field, tokenizer, config.seq_len, config.packing)
    has_eval = len(eval_blocks) > 0
    arguments.update(_eval_arguments(config, has_eval))
    trainer = transformers.Trainer(model=model, args=transformers.TrainingArguments(**arguments),
                                   train_dataset=train_blocks, eval_dataset=eval_blocks if has_eval else None,
                                   data_collator=transformers.default_data_collator,
                                   callbacks=_early_stopping(config, has_eval))
    return trainer, tokens_per_step


def _eval_arguments(config: TrainConfig, has_eval: bool) -> dict[str, Any]:
    if not has_eval:
        if config.early_stopping_patience is not None:
            raise DatatrainerError("--early-stopping-patience needs held-out data: set --eval-fraction above 0 "
                                   "or --eval-version (the held-out split is empty)")
        return {"eval_strategy": "no"}
    settings: dict[str, Any] = {"eval_strategy": "steps", "eval_steps": config.eval_every}
    if config.early_stopping_patience is not None:
        # The best checkpoint is restored at the end, so checkpoints must fall on evaluation steps.
        settings.update(load_best_model_at_end=True, metric_for_best_model="eval_loss", greater_is_better=False,
                        save_steps=config.eval_every)
    return settings


def _early_stopping(config: TrainConfig, has_eval: bool) -> list[TrainerCallback]:
    if config.early_stopping_patience is None or not has_eval:
        return []
    from transformers import EarlyStoppingCallback

    return [EarlyStoppingCallback(early_stopping_patience=config.early_stopping_patience)]


def _require_data(present: bool, version: DatasetVersion, config: TrainConfig) -> None:
    if not present:
        raise DatatrainerError(f"{version.ref} has too little text in {', '.join(config.fields)} for one training "
                               f"sequence of {config.seq_len} tokens (lower --seq-len or --eval-fraction)")


def _out_of_memory(config: TrainConfig) -> DatatrainerError:
    return DatatrainerError(f"out of memory with --batch-size {config.batch_size} at --seq-len {config.seq_len}: "
                            f"try --batch-size {max(1, config.batch_size // 2)} (and --grad-accum "
                            f"{config.grad_accum * 2} to keep the effective batch)")


def _final_metrics(trainer: Trainer, training_loss: float, history: list[dict[str, Any]], tokens_per_step: int,
                   seconds: float) -> dict[str, Any]:
    steps = trainer.state.global_step
    model: Any = trainer.model
    train_losses = [entry["train_loss"] for entry in history if "train_loss" in entry]
    metrics: dict[str, Any] = {"steps": steps, "tokens": steps * tokens_per_step, "train_seconds": round(seconds, 3),
                               "mean_train_loss": training_loss,
                               "final_train_loss": train_losses[-1] if train_losses else None,
                               "parameters": sum(p.numel() for p in model.parameters()),
                               "trainable_parameters": sum(p.numel() for p in model.parameters()
                                                           if p.requires_grad)}
    if trainer.eval_dataset is not None:
        last = history[-1] if history else {}
        evaluated = last.get("step") == steps and "eval_loss" in last and not trainer.args.load_best_model_at_end
        eval_loss = float(last["eval_loss"]) if evaluated else float(trainer.evaluate()["eval_loss"])
        metrics.update(eval_loss=eval_loss, eval_perplexity=math.exp(min(eval_loss, 700.0)))
    return metrics


def _publish(ws: Workspace, trainer: Trainer, tokenizer: Any, version: DatasetVersion, config: TrainConfig,
             name: str, metrics: dict[str, Any], history: list[dict[str, Any]]) -> TrainedModel:
    """Write the model folder under tmp/, move it into models/ and register it; then drop the run folder."""
    key, folder = ws.models.new_folder()
    try:
        trainer.save_model(str(folder))
        tokenizer.save_pretrained(str(folder))
        lineage = {"name": name, "base_model": config.model, "method": config.method, "dataset": version.ref,
                   "config": config.to_dict(), "config_hash": config.config_hash()}
        (folder / LINEAGE_FILE).write_bytes(orjson.dumps(lineage, option=orjson.OPT_INDENT_2))
        trained = ws.models.publish(folder, key, name=name, base_model=config.model, method=config.method,
                                    dataset_ref=version.ref, config=config.to_dict(),
                                    config_hash=config.config_hash(), metrics=metrics, history=history)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(run_folder(ws, name), ignore_errors=True)
    ws.audit.record(action="model.train", entity="model", entity_id=name,
                    after={**version_facts(version.info), "base_model": config.model, "method": config.method,
                           "config_hash": config.config_hash()})
    return trained
