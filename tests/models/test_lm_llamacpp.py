"""The llama.cpp backend on the real SmolLM2 GGUF, against the transformers backend on the same file.

llama.cpp computes with the Q4_1 weights as they are (quantised matmuls), transformers with their float32
de-quantisation, so the numbers agree closely but not exactly: compared by rank correlation and tolerance.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import spearmanr

from datatrainer.models.lm.hf import TransformersLM
from datatrainer.models.lm.llamacpp import LlamaCppLM

pytest.importorskip("llama_cpp")

# A llama-cpp-python build can crash inside llama_decode (seen here: 0.3.36 built with default options on an AMX
# Xeon segfaulted on any prompt longer than one token; built with GGML_OPENMP=OFF, see the README, it runs);
# a crash would take the whole test session down, so the backend is tried in a child process first.
_PROBE = """
from datatrainer.models.lm.llamacpp import LlamaCppLM
LlamaCppLM("smollm2").next_token_logprobs(["The capital of France is"], ["yes"])
"""
if subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, timeout=300).returncode != 0:
    pytest.skip("this llama-cpp-python build crashes in llama_decode on this machine", allow_module_level=True)

MESSAGES = ["Is the sky blue? Answer yes or no.", "Hi",
            "###\nBuy cheap pills now!!! Click here.\n###\nIs this informative? Answer yes or no.",
            "###\nThe Eiffel Tower is a wrought-iron lattice tower in Paris.\n###\nIs this informative? yes or no"]


@pytest.fixture(scope="module")
def llama() -> LlamaCppLM:
    return LlamaCppLM("smollm2", threads=2)


def test_chat_template_matches_transformers(llama: LlamaCppLM, smollm2: TransformersLM) -> None:
    assert [llama.format_prompt(m) for m in MESSAGES] == [smollm2.format_prompt(m) for m in MESSAGES]


def test_next_token_logprobs_agree_with_transformers(llama: LlamaCppLM, smollm2: TransformersLM) -> None:
    prompts = [smollm2.format_prompt(m) for m in MESSAGES]
    ours = llama.next_token_distribution(prompts)
    reference = smollm2.next_token_distribution(prompts).astype(np.float64)
    np.testing.assert_allclose(np.exp(ours).sum(axis=1), 1.0, atol=1e-6)
    for row in range(len(prompts)):
        top = np.argsort(-reference[row])[:50]  # the plausible answers; the tail is noise in both
        assert spearmanr(ours[row, top], reference[row, top])[0] > 0.9
        assert np.argmax(ours[row]) == np.argmax(reference[row])
    candidates = ["yes", "Yes", "no", "No"]
    np.testing.assert_allclose(llama.next_token_logprobs(prompts, candidates),
                               smollm2.next_token_logprobs(prompts, candidates), atol=0.5)
    # A score must not depend on the prompt before it (scores are cached by content).
    np.testing.assert_allclose(llama.next_token_logprobs(prompts[::-1], candidates)[::-1],
                               llama.next_token_logprobs(prompts, candidates), atol=1e-4)


def test_sequence_nll_agrees_with_transformers(llama: LlamaCppLM, smollm2: TransformersLM) -> None:
    texts = ["The cat sat on the mat.", "Paris is the capital and largest city of France.", ""]
    nll, counts = llama.sequence_nll(texts)
    reference, reference_counts = smollm2.sequence_nll(texts)
    assert counts.tolist() == reference_counts.tolist()
    np.testing.assert_allclose(nll / np.maximum(counts, 1), reference / np.maximum(counts, 1), atol=0.15)


def test_truncate_respects_the_budget(llama: LlamaCppLM) -> None:
    long = "The quick brown fox jumps over the lazy dog. " * 30 + "🙂" * 10
    cut, short = llama.truncate([long, "short"], 20)
    assert short == "short" and long.startswith(cut)
    assert 0 < len(llama._encode(cut)) <= 20
