"""The OpenAI-compatible HTTP backend end to end, against a real uvicorn server serving the real SmolLM2.

The server (tests/models/lm_server.py) answers like vLLM; the backend must return what the in-process model
computes: the same next-token log-probs for candidates in the top-k (-inf outside it), the same prompt NLL
(tokens after the first, which has no context on a server that adds no BOS), the same truncation.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
import torch

from datatrainer.errors import DatatrainerError
from datatrainer.models.lm import load_language_model
from datatrainer.models.lm.hf import TransformersLM
from datatrainer.models.lm.openai_http import OpenAICompatibleLM
from tests.models.lm_server import create_app, serve

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

SERVED = "smollm2-test"
CANDIDATES = ["yes", " yes", "Yes", "no", "No", " the", "zebra"]


@pytest.fixture(scope="module")
def base_url(smollm2: TransformersLM) -> Iterator[str]:
    with serve(create_app(smollm2, SERVED)) as url:
        yield url


@pytest.fixture(scope="module")
def remote(base_url: str) -> OpenAICompatibleLM:
    lm = load_language_model(SERVED, backend="openai", base_url=base_url, top_logprobs=5, batch_size=3)
    assert isinstance(lm, OpenAICompatibleLM)
    return lm


@pytest.fixture(scope="module")
def prompts(smollm2: TransformersLM) -> list[str]:
    messages = ["Is the sky blue? Answer yes or no.", "Hi",
                "###\nBuy cheap pills now!!! Click here.\n###\nIs this informative? Answer yes or no.",
                "Water boils at 100 degrees Celsius at sea level. True? Answer yes or no."]
    return [smollm2.format_prompt(m) for m in messages] + ["The capital of France is"]


def test_next_token_logprobs_match_in_process_within_top_k(smollm2: TransformersLM, remote: OpenAICompatibleLM,
                                                           prompts: list[str]) -> None:
    local = smollm2.next_token_logprobs(prompts, CANDIDATES)
    over_http = remote.next_token_logprobs(prompts, CANDIDATES)
    fifth_best = np.sort(smollm2.next_token_distribution(prompts), axis=1)[:, -5]
    in_top_k = local >= fifth_best[:, None]
    assert in_top_k.any() and (~in_top_k).any()  # both cases are exercised
    # float32 rounding differs with how prompts are batched (1.4e-5 seen in CI), nothing more
    np.testing.assert_allclose(over_http[in_top_k], local[in_top_k], atol=1e-4)
    assert np.isneginf(over_http[~in_top_k]).all()


def test_sequence_nll_matches_per_token_reference(smollm2: TransformersLM, remote: OpenAICompatibleLM) -> None:
    texts = ["The cat sat on the mat.", "Paris is the capital of France.", "a", "Ünïcödé 🙂 text"]
    nll, counts = remote.sequence_nll(texts)
    for text, value, count in zip(texts, nll, counts, strict=True):
        ids = smollm2._tokenizer.encode(text)  # this server adds no BOS: the first token goes unscored
        with torch.inference_mode():
            logprobs = smollm2._model(torch.tensor([ids])).logits[0, :-1].float().log_softmax(-1)
        expected = -float(logprobs[torch.arange(len(ids) - 1), torch.tensor(ids[1:], dtype=torch.long)].double().sum())
        assert count == len(ids) - 1
        assert value == pytest.approx(expected, rel=1e-4, abs=1e-3)


def test_truncate_with_the_servers_tokenizer_equals_local(smollm2: TransformersLM, remote: OpenAICompatibleLM) -> None:
    texts = ["The quick brown fox jumps over the lazy dog. " * 10, "short", "Ünïcödé 🙂🙂🙂 漢字漢字 " * 5]
    assert remote.truncate(texts, 12) == smollm2.truncate(texts, 12)


def test_local_tokenizer_formats_and_truncates_like_the_model(smollm2: TransformersLM, base_url: str) -> None:
    remote = OpenAICompatibleLM(SERVED, base_url=base_url, tokenizer="smollm2")
    assert remote.format_prompt("Hello?") == smollm2.format_prompt("Hello?")
    assert remote.truncate(["one two three four five six seven"], 3) == ["one two three"]
    assert remote.config()["tokenizer"] == "smollm2"


def test_server_errors_are_retried_then_reported_on_one_line(base_url: str, remote: OpenAICompatibleLM) -> None:
    httpx.post(base_url.removesuffix("/v1") + "/test/fail", json={"count": 2}).raise_for_status()
    assert np.isfinite(remote.next_token_logprobs(["The capital of France is"], [" Paris"])).all()
    httpx.post(base_url.removesuffix("/v1") + "/test/fail", json={"count": 1}).raise_for_status()
    no_retry = OpenAICompatibleLM(SERVED, base_url=base_url, retries=0)
    with pytest.raises(DatatrainerError, match=r"/v1/completions: HTTP 503: overloaded, try again$"):
        no_retry.next_token_logprobs(["Hi"], ["yes"])


def test_client_errors_name_the_url(base_url: str) -> None:
    wrong_model = OpenAICompatibleLM("gpt-9", base_url=base_url)
    with pytest.raises(DatatrainerError, match=r"HTTP 404: The model `gpt-9` does not exist\.") as error:
        wrong_model.sequence_nll(["Hello"])
    assert "\n" not in str(error.value) and base_url in str(error.value)
    dead = OpenAICompatibleLM(SERVED, base_url=closed_port_url(), retries=1, timeout=2)
    with pytest.raises(DatatrainerError, match=r"127\.0\.0\.1:\d+/v1/completions: ConnectError"):
        dead.next_token_logprobs(["Hi"], ["yes"])


def closed_port_url() -> str:
    """A local URL where nothing listens: a port bound, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
