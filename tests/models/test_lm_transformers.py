"""The transformers backend on the real bundled SmolLM2-135M-Instruct, against plain unbatched forward passes.

The reference for every number is the simplest possible computation: one text at a time, no padding, the
model's own full-logits forward (`model(ids).logits`), log-softmax. Batching, left padding, length buckets
and the last-position-only head must not change it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr

from datatrainer.errors import DatatrainerError
from datatrainer.models.lm import load_language_model
from datatrainer.models.lm.hf import BATCH_TOKENS, TransformersLM, native_bf16, resolve_dtype

MESSAGES = [
    "Hi",
    "Is the sky blue? Answer yes or no.",
    "###\nThe Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France.\n###\n"
    "Is this paragraph informative? Answer yes or no.",
    "Click here!!! Buy now cheap cheap cheap. Is this text useful?",
    "The mitochondrion is the powerhouse of the cell; it produces ATP through oxidative phosphorylation, "
    "a process that depends on an electrochemical gradient across its inner membrane. Informative? yes/no",
]
TEXTS = ["The cat sat on the mat.", "Paris is the capital of France, and its largest city.", "a", "",
         "Ünïcödé text 🙂 with emoji and 漢字."]


def reference_next_token(lm: TransformersLM, prompt: str) -> np.ndarray:
    ids = lm._tokenizer(prompt, return_tensors="pt").input_ids
    with torch.inference_mode():
        logprobs: np.ndarray = lm._model(ids).logits[0, -1].float().log_softmax(-1).numpy()
    return logprobs


def reference_nll(lm: TransformersLM, text: str) -> tuple[float, int]:
    ids = [lm._tokenizer.bos_token_id, *lm._tokenizer.encode(text, add_special_tokens=False)]
    if len(ids) < 2:
        return 0.0, 0
    with torch.inference_mode():
        logprobs = lm._model(torch.tensor([ids])).logits[0, :-1].float().log_softmax(-1)
    return -float(logprobs[torch.arange(len(ids) - 1), torch.tensor(ids[1:])].double().sum()), len(ids) - 1


@pytest.fixture(scope="module")
def prompts(smollm2: TransformersLM) -> list[str]:
    return [smollm2.format_prompt(message) for message in MESSAGES] + ["The capital of France is"]


def test_batched_next_token_equals_unbatched_forward(smollm2: TransformersLM, prompts: list[str]) -> None:
    lengths = [len(smollm2._encode_prompts([p])[0]) for p in prompts]
    assert len(set(lengths)) == len(lengths)  # different lengths, so one batch needs padding
    reference = np.stack([reference_next_token(smollm2, p) for p in prompts])
    for budget in (100_000, 2 * max(lengths)):  # one padded batch; then buckets of one or two rows
        smollm2.batch_tokens = budget
        try:
            ours = smollm2.next_token_distribution(prompts)
        finally:
            smollm2.batch_tokens = BATCH_TOKENS
        assert ours.shape == reference.shape
        np.testing.assert_allclose(ours, reference, atol=2e-4)
        # A probability distribution over the full vocabulary.
        np.testing.assert_allclose(np.exp(ours.astype(np.float64)).sum(axis=1), 1.0, atol=1e-4)


def test_chat_prompts_reuse_the_template_opening_and_still_equal_unbatched_forwards(
        smollm2: TransformersLM, prompts: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The chat template's opening runs once per call and batches continue from its cache; the numbers stay
    those of one plain forward pass per prompt, and a prompt's score does not depend on its companions."""
    opening = smollm2._template_opening
    assert len(opening) >= 8
    assert smollm2._tokenizer.decode(opening).startswith("<|im_start|>system")
    chat = prompts[:-1]  # the last prompt is plain text, without the template
    runs = []
    original = smollm2._prefix_states
    monkeypatch.setattr(smollm2, "_prefix_states", lambda prefix: runs.append(list(prefix)) or original(prefix))
    reference = np.stack([reference_next_token(smollm2, p) for p in chat])
    smollm2.batch_tokens = 2 * max(len(ids) for ids in smollm2._encode_prompts(chat))  # several padded batches
    try:
        ours = smollm2.next_token_distribution(chat)
    finally:
        smollm2.batch_tokens = BATCH_TOKENS
    assert runs == [opening]  # once per call, the opening only
    np.testing.assert_allclose(ours, reference, atol=2e-4)
    np.testing.assert_allclose(smollm2.next_token_distribution(chat[2:3])[0], ours[2], atol=2e-4)
    # A call with a prompt outside the template reuses nothing and is still exact.
    runs.clear()
    mixed = smollm2.next_token_distribution(prompts)
    assert runs == []
    np.testing.assert_allclose(mixed[:-1], reference, atol=2e-4)


def test_next_token_logprobs_reads_each_candidates_token(smollm2: TransformersLM, prompts: list[str]) -> None:
    candidates = ["yes", " yes", "Yes", "no", "yesterday"]
    ours = smollm2.next_token_logprobs(prompts[:3], candidates)
    full = smollm2.next_token_distribution(prompts[:3])
    tokenizer = smollm2._tokenizer
    ids = [tokenizer.encode(c, add_special_tokens=False)[0] for c in candidates]
    assert ours.shape == (3, 5) and ours.dtype == np.float64
    np.testing.assert_allclose(ours, full[:, ids], rtol=1e-6)
    assert len(set(ids[:4])) == 4  # "yes", " yes" and "Yes" are distinct tokens of this vocabulary
    assert len(tokenizer.encode("yesterday", add_special_tokens=False)) > 1  # scored by its first token


def test_sequence_nll_equals_per_token_sum(smollm2: TransformersLM) -> None:
    nll, counts = smollm2.sequence_nll(TEXTS)
    reference = [reference_nll(smollm2, text) for text in TEXTS]
    np.testing.assert_allclose(nll, [r[0] for r in reference], rtol=1e-4, atol=1e-3)
    assert counts.tolist() == [r[1] for r in reference]
    assert counts[3] == 0 and nll[3] == 0  # the empty text scores nothing
    # Perplexity ranks fluent text below a shuffle of its own words.
    shuffled = " ".join(reversed(TEXTS[1].split()))
    (fluent, mixed), (n_fluent, n_mixed) = smollm2.sequence_nll([TEXTS[1], shuffled])
    assert fluent / n_fluent < mixed / n_mixed


def test_format_prompt_applies_the_chat_template(smollm2: TransformersLM) -> None:
    prompt = smollm2.format_prompt("Is this informative?")
    assert prompt.startswith("<|im_start|>system\n") and "<|im_start|>user\nIs this informative?<|im_end|>" in prompt
    assert prompt.endswith("<|im_start|>assistant\n")  # the generation prompt: the answer comes next


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(st.characters(codec="utf-8", exclude_categories=["Cc"]), max_size=200),
       budget=st.integers(0, 40))
def test_truncate_keeps_a_prefix_within_the_budget(smollm2: TransformersLM, text: str, budget: int) -> None:
    # Control characters are left out: this tokenizer drops them, so a cut text cannot contain them.
    # Astral-plane characters split over byte tokens (and merged with their neighbours) are in.
    (cut,) = smollm2.truncate([text], budget)
    tokens = len(smollm2._tokenizer.encode(text, add_special_tokens=False))
    assert len(smollm2._tokenizer.encode(cut, add_special_tokens=False)) <= budget
    assert text.startswith(cut)
    if tokens <= budget:
        assert cut == text


def test_truncate_cuts_real_text_to_the_budget(smollm2: TransformersLM) -> None:
    long = "The quick brown fox jumps over the lazy dog. " * 40
    cut, short = smollm2.truncate([long, "short"], 25)
    assert short == "short"
    assert len(smollm2._tokenizer.encode(cut, add_special_tokens=False)) == 25  # nothing lost needlessly


def test_bad_inputs_are_one_line_errors(smollm2: TransformersLM) -> None:
    with pytest.raises(DatatrainerError, match="prompt 1 is empty"):
        smollm2.next_token_logprobs(["Hi", ""], ["yes"])
    with pytest.raises(DatatrainerError, match=r"more than SmolLM2-135M-Instruct\.Q4_1's context of 8192"):
        smollm2.sequence_nll(["word " * 9000])
    with pytest.raises(DatatrainerError, match="answer candidate '' is empty"):
        smollm2.next_token_logprobs(["Hi"], [""])


def test_unknown_model_says_nothing_downloads(tmp_path: Path) -> None:
    with pytest.raises(DatatrainerError, match=r"'no-such-org/no-such-model' is not a local folder.*nothing "
                                               r"downloads at run time") as error:
        load_language_model("no-such-org/no-such-model")
    assert "\n" not in str(error.value)
    with pytest.raises(DatatrainerError, match="does not exist"):
        load_language_model(str(tmp_path / "missing.gguf"))


def test_factory_refuses_unknown_backends_and_options() -> None:
    with pytest.raises(DatatrainerError, match="unknown language-model backend 'vllm'"):
        load_language_model("smollm2", backend="vllm")  # type: ignore[arg-type]
    with pytest.raises(DatatrainerError, match="has no option 'dtpye'"):
        load_language_model("smollm2", dtpye="bfloat16")
    with pytest.raises(DatatrainerError, match="needs base_url="):
        load_language_model("m", backend="openai")
    with pytest.raises(DatatrainerError, match="int8 quantisation works on float32 weights"):
        load_language_model("smollm2", dtype="bfloat16", quantize="int8")


@pytest.fixture(scope="module")
def saved_folder(smollm2: TransformersLM, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The de-quantised SmolLM2 saved as an ordinary model folder: loads in a second, and exercises the
    folder path of the backend."""
    from safetensors.torch import save_model

    folder = tmp_path_factory.mktemp("smollm2-folder")
    # save_pretrained refuses a model loaded from GGUF; its de-quantised weights and config save fine.
    config = smollm2._model.config.to_dict()
    config.pop("quantization_config", None)
    (folder / "config.json").write_text(json.dumps(config))
    save_model(smollm2._model, str(folder / "model.safetensors"))
    smollm2._tokenizer.save_pretrained(folder)
    return folder


def test_reduced_precision_stays_faithful_and_is_cached_apart(smollm2: TransformersLM, saved_folder: Path,
                                                              prompts: list[str]) -> None:
    fp32 = TransformersLM(str(saved_folder), dtype="float32")
    variants = {"bf16": TransformersLM(str(saved_folder), dtype="bfloat16"),
                "int8": TransformersLM(str(saved_folder), quantize="int8")}
    reference = fp32.next_token_logprobs(prompts, ["yes", "Yes", "no", "The", "I"])
    np.testing.assert_allclose(reference, smollm2.next_token_logprobs(prompts, ["yes", "Yes", "no", "The", "I"]),
                               atol=2e-4)
    configs = {"fp32": fp32.config(), **{name: lm.config() for name, lm in variants.items()}}
    assert configs["fp32"]["model"] == str(saved_folder.resolve()) and configs["fp32"]["gguf_file"] is None
    assert configs["bf16"]["dtype"] == "bfloat16" and configs["int8"]["quantize"] == "int8"
    assert configs["int8"]["dtype"] == "float32"  # int8 under the default dtype quantises float32 weights
    assert len({str(sorted(c.items())) for c in configs.values()}) == 3
    bf16 = variants["bf16"].next_token_logprobs(prompts, ["yes", "Yes", "no", "The", "I"])
    assert spearmanr(reference.ravel(), bf16.ravel())[0] > 0.95
    assert np.abs(bf16 - reference).max() < 0.5
    # int8 runs and gives distributions; how far it is from float32 is measured in benchmarks/ask_llm.py.
    int8 = variants["int8"].next_token_distribution(prompts[:2]).astype(np.float64)
    np.testing.assert_allclose(np.exp(int8).sum(axis=1), 1.0, atol=1e-4)


def test_default_dtype_is_bfloat16_only_where_the_cpu_has_bf16_units(saved_folder: Path) -> None:
    samples = {"processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512bw avx512_bf16 avx512_vnni\n": True,
               "flags\t\t: fpu avx512f amx_bf16 amx_tile amx_int8\n": True,
               "Features\t: fp asimd evtstrm bf16 i8mm\n": True,  # ARMv8.6 (Graviton 3, Neoverse V1)
               "flags\t\t: fpu sse2 avx2 avx512f avx512bw avx512_vnni\n": False,  # AVX512 alone emulates bf16
               "model name\t: bf16 in a name is not a flag\nFeatures\t: fp asimd aes\n": False,
               "": False}
    for cpuinfo, expected in samples.items():
        assert native_bf16(cpuinfo) is expected, cpuinfo
    assert resolve_dtype("float32") == "float32" and resolve_dtype("bfloat16") == "bfloat16"
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    here = "bfloat16" if re.search(r"^(flags|Features)\s*:.*\b(avx512_bf16|amx_bf16|bf16)\b", flags, re.M) \
        else "float32"
    assert TransformersLM(str(saved_folder)).config()["dtype"] == here
