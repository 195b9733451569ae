"""The seq2seq (encoder-decoder) path of the transformers backend, on a tiny randomly initialised T5.

No T5 checkpoint ships in a PyPI wheel, so the model is built here (random weights, the bundled SmolLM2
tokenizer as its vocabulary) and saved as an ordinary model folder. Random weights say nothing about quality;
what is checked is the plumbing Flan-T5 users rely on: a folder loads as seq2seq, left-padded length buckets
give what one unpadded encoder + first decoder step gives per prompt, and perplexity (decoder-only) is refused
in one line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from datatrainer.errors import DatatrainerError
from datatrainer.models.lm.hf import TransformersLM

PROMPTS = ["Is this informative? Answer yes or no.", "Hi", "The Eiffel Tower is in Paris. True? Answer yes or no.",
           "Buy cheap pills now!!! Click here. Is this informative?"]


@pytest.fixture(scope="module")
def t5_folder(smollm2: TransformersLM, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transformers import T5Config, T5ForConditionalGeneration

    tokenizer = smollm2._tokenizer
    torch.manual_seed(0)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    config = T5Config(vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
                      pad_token_id=pad, eos_token_id=tokenizer.eos_token_id, decoder_start_token_id=pad)
    folder = tmp_path_factory.mktemp("tiny-t5")
    T5ForConditionalGeneration(config).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def t5(t5_folder: Path) -> TransformersLM:
    return TransformersLM(str(t5_folder), dtype="float32")


def unpadded_first_step(lm: TransformersLM, prompt: str) -> np.ndarray:
    """The reference: one prompt alone through the full model, log-softmax of the first decoder step."""
    ids = torch.tensor([lm._encode_prompts([prompt])[0]])
    start = torch.tensor([[lm._model.config.decoder_start_token_id]])
    with torch.inference_mode():
        logits = lm._model(input_ids=ids, decoder_input_ids=start).logits[0, -1]
    return torch.log_softmax(logits.double(), dim=-1).numpy()


def test_folder_loads_as_seq2seq(t5: TransformersLM) -> None:
    assert t5.seq2seq
    assert t5.config()["kind"] == "seq2seq"


def test_batched_first_decoder_step_equals_unpadded_forward(t5: TransformersLM) -> None:
    lengths = [len(ids) for ids in t5._encode_prompts(PROMPTS)]
    assert len(set(lengths)) == len(lengths)  # one batch needs padding
    reference = np.stack([unpadded_first_step(t5, p) for p in PROMPTS])
    ours = t5.next_token_distribution(PROMPTS)
    np.testing.assert_allclose(ours, reference, atol=1e-4)
    np.testing.assert_allclose(np.exp(ours.astype(np.float64)).sum(axis=1), 1.0, atol=1e-4)
    candidates = ["yes", "no"]
    ids = [t5._first_token(c) for c in candidates]
    np.testing.assert_allclose(t5.next_token_logprobs(PROMPTS, candidates), reference[:, ids], atol=1e-4)


def test_perplexity_is_refused_in_one_line(t5: TransformersLM) -> None:
    with pytest.raises(DatatrainerError, match="causal") as raised:
        t5.sequence_nll(["some text"])
    assert "\n" not in str(raised.value)
