"""Any OpenAI-compatible server that returns log-probabilities (vLLM, llama.cpp's server, ...), over HTTP.

Both protocol calls use the legacy `/v1/completions` endpoint, which takes raw prompt text (chat endpoints
would re-template it) and a list of prompts per request (the server batches them):

- `next_token_logprobs`: `max_tokens=1, logprobs=k` returns the top-k alternatives at the first generated
  position. A candidate outside the server's top-k gets -inf: the server never says what it was. Candidates
  are matched to the returned token strings exactly ("yes" and " yes" are different tokens).
- `sequence_nll`: `echo=True, max_tokens=1, logprobs=1` returns the prompt's own token log-probs; the one
  generated token at the end is dropped (the convention of lm-evaluation-harness). The first prompt token has
  no log-prob unless the server's tokenizer put a BOS token before it; only tokens with a log-prob are counted.

Truncation and chat templates need the model's tokenizer. With `tokenizer=` (a model name the transformers
backend understands: `smollm2`, a folder, a hub id in the local cache) both run locally; otherwise texts are
cut with the server's `/tokenize` and `/detokenize` (vLLM and llama.cpp's server both have them) and prompts
are sent as given. Connection errors, timeouts and 5xx answers are retried with exponential backoff; any other
failure is a one-line `DatatrainerError` naming the URL.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from typing import Any

import httpx
import numpy as np

from datatrainer.errors import DatatrainerError
from datatrainer.models.lm.base import FloatArray
from datatrainer.models.lm.hf_tokenizer import chat_prompt, load_tokenizer, truncate_with
from datatrainer.models.lm.tokens import truncate_texts

TOP_LOGPROBS = 20
BATCH_SIZE = 16
TIMEOUT_S = 120.0
RETRIES = 3
BACKOFF_S = 0.5


class OpenAICompatibleLM:
    """A model served behind `/v1/completions`; `model` is the name the server knows it by."""

    def __init__(self, model: str, *, base_url: str, api_key: str | None = None, tokenizer: str | None = None,
                 top_logprobs: int = TOP_LOGPROBS, batch_size: int = BATCH_SIZE, timeout: float = TIMEOUT_S,
                 retries: int = RETRIES) -> None:
        self.model, self.base_url = model, base_url.rstrip("/")
        self.top_logprobs, self.batch_size, self.retries = top_logprobs, batch_size, retries
        self.tokenizer_name = tokenizer
        self._tokenizer = load_tokenizer(tokenizer) if tokenizer else None
        key = api_key or os.environ.get("OPENAI_API_KEY")
        self._client = httpx.Client(timeout=timeout, headers={"Authorization": f"Bearer {key}"} if key else {})

    @property
    def name(self) -> str:
        return self.model.rstrip("/").rsplit("/", 1)[-1] or "model"

    def config(self) -> dict[str, Any]:
        return {"backend": "openai", "base_url": self.base_url, "model": self.model,
                "top_logprobs": self.top_logprobs, "tokenizer": self.tokenizer_name}

    def truncate(self, texts: Sequence[str], max_tokens: int) -> list[str]:
        if self._tokenizer is not None:
            return truncate_with(self._tokenizer, texts, max_tokens)
        return truncate_texts(texts, [self._tokenize(text) for text in texts], max_tokens, self._tokenize,
                              self._detokenize)

    def format_prompt(self, user_message: str) -> str:
        return chat_prompt(self._tokenizer, user_message) if self._tokenizer is not None else user_message

    def next_token_logprobs(self, prompts: Sequence[str], candidates: Sequence[str]) -> FloatArray:
        out = np.full((len(prompts), len(candidates)), -np.inf, dtype=np.float64)
        for start, choices in self._completions(prompts, {"max_tokens": 1, "logprobs": self.top_logprobs}):
            for offset, choice in enumerate(choices):
                top = _logprobs(choice, self.base_url)["top_logprobs"]
                alternatives: dict[str, float] = (top[0] if top else None) or {}
                for column, candidate in enumerate(candidates):
                    if candidate in alternatives:
                        out[start + offset, column] = alternatives[candidate]
        return out

    def sequence_nll(self, texts: Sequence[str]) -> tuple[FloatArray, FloatArray]:
        nll = np.zeros(len(texts), dtype=np.float64)
        counts = np.zeros(len(texts), dtype=np.float64)
        request = {"max_tokens": 1, "logprobs": 1, "echo": True}
        for start, choices in self._completions(texts, request):
            for offset, choice in enumerate(choices):
                prompt_logprobs = _logprobs(choice, self.base_url)["token_logprobs"][:-1]
                scored = [float(value) for value in prompt_logprobs if value is not None]
                nll[start + offset] = -math.fsum(scored)
                counts[start + offset] = len(scored)
        return nll, counts

    def _completions(self, prompts: Sequence[str], options: dict[str, Any]) -> list[tuple[int, list[Any]]]:
        """(index of the batch's first prompt, its choices in prompt order) for each batch of prompts."""
        results = []
        for start in range(0, len(prompts), self.batch_size):
            batch = list(prompts[start:start + self.batch_size])
            body = self._post("/completions", {"model": self.model, "prompt": batch, "temperature": 0.0, **options})
            choices = body.get("choices") if isinstance(body, dict) else None
            if not isinstance(choices, list) or len(choices) != len(batch):
                raise DatatrainerError(f"{self.base_url}/completions: expected {len(batch)} choices, got "
                                       f"{len(choices) if isinstance(choices, list) else 'none'}")
            results.append((start, sorted(choices, key=lambda choice: int(choice.get("index", 0)))))
        return results

    def _tokenize(self, text: str) -> list[int]:
        body = self._post("/tokenize", {"model": self.model, "prompt": text, "content": text,
                                        "add_special_tokens": False}, root=True)
        tokens = body.get("tokens") if isinstance(body, dict) else None
        if not isinstance(tokens, list):
            raise DatatrainerError(f"{self._root()}/tokenize: no token list in the answer; pass tokenizer= to "
                                   "truncate locally")
        return [int(token) for token in tokens]

    def _detokenize(self, ids: Sequence[int]) -> str:
        body = self._post("/detokenize", {"model": self.model, "tokens": list(ids)}, root=True)
        text = (body.get("prompt") or body.get("content")) if isinstance(body, dict) else None
        if not isinstance(text, str):
            raise DatatrainerError(f"{self._root()}/detokenize: no text in the answer; pass tokenizer= to "
                                   "truncate locally")
        return text

    def _root(self) -> str:
        """The server's root: vLLM and llama.cpp serve /tokenize beside /v1, not under it."""
        return self.base_url.removesuffix("/v1")

    def _post(self, path: str, payload: dict[str, Any], root: bool = False) -> Any:
        url = (self._root() if root else self.base_url) + path
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self._client.post(url, json=payload)
            except httpx.TransportError as exc:  # refused, reset, timed out: worth another try
                if last:
                    raise DatatrainerError(f"{url}: {type(exc).__name__}: {exc or 'no answer'}") from None
            else:
                if response.status_code < 400:
                    try:
                        return response.json()
                    except ValueError:
                        raise DatatrainerError(f"{url}: the answer is not JSON") from None
                if response.status_code < 500 or last:
                    raise DatatrainerError(f"{url}: HTTP {response.status_code}: {_error_message(response)}")
            time.sleep(BACKOFF_S * 2 ** attempt)
        raise AssertionError("unreachable: the last attempt returns or raises")


def _logprobs(choice: Any, url: str) -> dict[str, Any]:
    logprobs = choice.get("logprobs") if isinstance(choice, dict) else None
    if not isinstance(logprobs, dict):
        raise DatatrainerError(f"{url}/completions: a choice has no logprobs (does the server return them?)")
    return logprobs


def _error_message(response: httpx.Response) -> str:
    """The server's own error message on one line (OpenAI shape `{"error": {"message": ...}}` or FastAPI's
    `{"detail": ...}`), else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    message: Any = response.text
    if isinstance(body, dict):
        error = body.get("error")
        message = (error.get("message") if isinstance(error, dict) else error) or body.get("detail") or message
    return " ".join(str(message).split())[:300] or response.reason_phrase
