"""Training a tiny GPT from scratch: the loss falls, runs are deterministic, an interrupted run resumes exactly,
and the registered model loads back and computes what the trained one did."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from transformers import AutoModelForCausalLM, TrainerCallback

from datatrainer.training import TrainingInterrupted, export_model, load_trained, train
from datatrainer.training.run import run_folder
from datatrainer.workspace import Workspace
from tests.training.conftest import ingest_records, lee_articles, tiny_config


def _train_losses(history: list[dict[str, Any]]) -> list[float]:
    return [entry["train_loss"] for entry in history if "train_loss" in entry]


class _CtrlC(TrainerCallback):
    """Presses Ctrl-C (a real SIGINT to this process) at the end of step `at`."""

    def __init__(self, at: int) -> None:
        self.at = at

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.global_step == self.at:
            signal.raise_signal(signal.SIGINT)


@pytest.mark.slow
def test_loss_falls_and_model_loads_back(text_ws: tuple[Workspace, str], small_tokenizer: str) -> None:
    ws, ref = text_ws
    result = train(ws, ref, tiny_config(small_tokenizer, max_steps=12, eval_every=6), "tiny", progress=False)
    losses = _train_losses(result.history)
    assert len(losses) == 12
    assert np.mean(losses[-3:]) < np.mean(losses[:3]) - 0.2
    evals = [entry["eval_loss"] for entry in result.history if "eval_loss" in entry]
    assert evals[-1] < evals[0] and result.model.metrics["eval_loss"] == pytest.approx(evals[-1])
    assert result.model.dataset_ref == ref and result.model.base_model == "tiny-gpt"
    assert result.model.history == result.history
    assert not run_folder(ws, "tiny").exists()  # checkpoints go once the model is registered

    model, tokenizer = load_trained(ws, "tiny")
    ids = torch.tensor([tokenizer("The bushfires near Sydney", add_special_tokens=False)["input_ids"]])
    exported = export_model(ws, "tiny", ws.root.parent / "export")
    plain = AutoModelForCausalLM.from_pretrained(exported).eval()
    with torch.no_grad():
        assert torch.equal(model(ids).logits, plain(ids).logits)
        # The loss it reports on held-out text is the loss it was registered with (same weights, same data).
        assert model.config.n_layer == 2 and model.config.n_embd == 64


@pytest.mark.slow
def test_resumed_run_reproduces_the_uninterrupted_loss_curve(text_ws: tuple[Workspace, str],
                                                             small_tokenizer: str) -> None:
    ws, ref = text_ws
    config = tiny_config(small_tokenizer, max_steps=8, save_every=100)
    straight = train(ws, ref, config, "straight", progress=False)
    with pytest.raises(TrainingInterrupted, match=r"interrupted at step 3 of 8.*--resume"):
        train(ws, ref, config, "resumed", progress=False, callbacks=[_CtrlC(3)])
    assert ws.models.find("resumed") is None
    assert (run_folder(ws, "resumed") / "checkpoint-3").is_dir()
    resumed = train(ws, ref, config, "resumed", resume=True, progress=False)
    assert _train_losses(resumed.history) == _train_losses(straight.history)  # exactly, step for step
    assert [e["eval_loss"] for e in resumed.history if "eval_loss" in e] == \
        [e["eval_loss"] for e in straight.history if "eval_loss" in e]
    assert resumed.model.config_hash == straight.model.config_hash


def test_resume_of_an_unknown_run_is_one_line(text_ws: tuple[Workspace, str], small_tokenizer: str) -> None:
    ws, ref = text_ws
    with pytest.raises(Exception, match="no interrupted training run named 'ghost' to resume"):
        train(ws, ref, tiny_config(small_tokenizer), "ghost", resume=True, progress=False)


@pytest.mark.slow
def test_early_stopping_on_an_external_eval_version_keeps_the_best_model(text_ws: tuple[Workspace, str],
                                                                          small_tokenizer: str,
                                                                          tmp_path: Path) -> None:
    ws, ref = text_ws
    clean = ingest_records(ws, "clean", [{"id": f"c{i}", "text": t} for i, t in enumerate(lee_articles(70)[60:])],
                           tmp_path)
    # A learning rate far too large: the held-out loss gets worse after the first steps, and training stops.
    config = tiny_config(small_tokenizer, max_steps=30, eval_every=1, eval_version=clean, learning_rate=1.0,
                         early_stopping_patience=2)
    result = train(ws, ref, config, "stopped", progress=False)
    evals = [entry["eval_loss"] for entry in result.history if "eval_loss" in entry]
    assert result.model.metrics["steps"] < 30
    assert result.model.metrics["eval_loss"] == pytest.approx(min(evals), rel=1e-5)  # the best checkpoint came back
    assert evals.index(min(evals)) < len(evals) - 2
