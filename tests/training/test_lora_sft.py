"""LoRA on the bundled SmolLM2 (the adapter reloads with peft and computes what was trained), and supervised
fine-tuning on instruction data (the loss covers the response only, as the tokenizer's chat template splits it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM, TrainerCallback

from datatrainer.training import TrainConfig, export_model, load_trained, train
from datatrainer.training.data import IGNORE_INDEX
from datatrainer.training.loading import load_causal_lm
from datatrainer.workspace import Workspace
from tests.training.conftest import TINY, ingest_records


class _Keep(TrainerCallback):
    """Keeps the trained in-memory model and the first training batch the trainer would feed."""

    def __init__(self) -> None:
        self.model: Any = None
        self.batch: dict[str, torch.Tensor] = {}

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.batch = next(iter(kwargs["train_dataloader"]))

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.model = kwargs["model"]


@pytest.mark.slow
def test_lora_adapter_reloads_with_peft_and_gives_the_trained_logits(text_ws: tuple[Workspace, str]) -> None:
    ws, ref = text_ws
    keep = _Keep()
    config = TrainConfig(model="smollm2", method="lora", seq_len=32, batch_size=2, max_steps=2, eval_fraction=0.0,
                         learning_rate=1e-3)
    result = train(ws, ref, config, "smol-lora", progress=False, callbacks=[keep])
    assert (result.model.path / "adapter_config.json").is_file() and result.model.method == "lora"
    assert result.model.metrics["trainable_parameters"] < result.model.metrics["parameters"] / 20

    ids = torch.tensor([[1, 504, 3458, 282, 260, 1345, 30, 57, 1099, 314]])
    trained = keep.model.eval()
    reloaded = PeftModel.from_pretrained(load_causal_lm("smollm2"), str(result.model.path)).eval()
    with torch.no_grad():
        expected = trained(input_ids=ids).logits
        assert torch.equal(reloaded(input_ids=ids).logits, expected)
        with reloaded.disable_adapter():
            assert not torch.allclose(reloaded(input_ids=ids).logits, expected, atol=1e-4)  # the adapter acts
        model, _ = load_trained(ws, "smol-lora")
        assert torch.equal(model(input_ids=ids).logits, expected)
        adapter = export_model(ws, "smol-lora", ws.root.parent / "adapter")  # the adapter folder, for peft
        assert (adapter / "adapter_config.json").is_file() and not (adapter / "model.safetensors").exists()
        assert torch.equal(load_trained(ws, str(adapter))[0](input_ids=ids).logits, expected)
        merged = AutoModelForCausalLM.from_pretrained(export_model(ws, "smol-lora", ws.root.parent / "merged",
                                                                   merge=True)).eval()
        torch.testing.assert_close(merged(input_ids=ids).logits, expected, atol=2e-4, rtol=1e-4)


@pytest.mark.slow
def test_sft_masks_the_prompt_out_of_the_loss(tmp_path: Path) -> None:
    records = [{"id": f"q{i}", "text": "-", "instruction": f"What is {i} plus {i}?",
                "output": f"{i} plus {i} is {2 * i}."} for i in range(24)]
    with Workspace.init(tmp_path / "ws") as ws:
        ref = ingest_records(ws, "qa", records, tmp_path)
        keep = _Keep()
        config = TrainConfig(model="tiny-gpt", tiny=TINY, prompt_field="instruction", response_field="output",
                             seq_len=64, batch_size=4, max_steps=2, eval_fraction=0.0)
        result = train(ws, ref, config, "sft", progress=False, callbacks=[keep])
        tokenizer = load_trained(ws, "sft")[1]
        assert result.model.metrics["steps"] == 2
    by_prompt = {tokenizer.apply_chat_template([{"role": "user", "content": r["instruction"]}], tokenize=False,
                                               add_generation_prompt=True): r["output"] for r in records}
    assert len(keep.batch["input_ids"]) == 4
    for ids, labels, mask in zip(keep.batch["input_ids"], keep.batch["labels"], keep.batch["attention_mask"],
                                 strict=True):
        real = mask.bool()
        learned = labels != IGNORE_INDEX
        assert torch.equal(labels[learned], ids[learned])
        prompt = tokenizer.decode(ids[real & ~learned])
        # The masked part is exactly the templated prompt; the learned part is the response and its end marker.
        assert prompt in by_prompt
        assert tokenizer.decode(ids[learned]) == by_prompt[prompt] + "<|im_end|>\n"
        assert bool(learned[real].nonzero().min() > 0)


def test_missing_fields_are_named(text_ws: tuple[Workspace, str]) -> None:
    ws, ref = text_ws
    config = TrainConfig(model="tiny-gpt", prompt_field="question", response_field="answer")
    with pytest.raises(Exception, match=r"lee@1 has no field\(s\) question, answer"):
        train(ws, ref, config, "x", progress=False)
