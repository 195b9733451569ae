"""GGUF models in llama.cpp through the prebuilt `xllamacpp` wheel (no compiler needed): generation, and the
next-token scores Ask-LLM needs.

`xllamacpp` embeds llama.cpp's server: requests are the OpenAI-style dictionaries the HTTP server takes, handled
in-process.

- `XLlamaCppGenerator` applies the model's own chat template (`chat`) or continues a raw prompt (`complete`),
  with greedy decoding at temperature 0 and seeded sampling otherwise.
- `XLlamaCppLM` is the `LanguageModel` of the `xllamacpp` backend. `next_token_logprobs` generates one token
  and reads the top `top_logprobs` alternatives (log-probabilities of the full-vocabulary softmax, before any
  sampler); a candidate outside them gets -inf, as with an HTTP server. k = 1,000 adds no time that can be
  told apart from the forward pass, and is far below where "yes" and "no" sit after an Ask-LLM prompt. Every
  prompt runs from an empty KV cache (`cache_prompt` off), so a score never depends on which prompt ran
  before (see `llamacpp`). Truncation and chat templates use the GGUF's tokenizer in transformers. The
  embedded server returns no log-probabilities of a prompt's own tokens, so `sequence_nll` (perplexity) is
  not available here: use the `transformers` or `llamacpp` backend for it.
"""

from __future__ import annotations

import importlib.metadata
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from datatrainer.errors import DatatrainerError
from datatrainer.models.lm.base import FloatArray
from datatrainer.models.lm.sources import ModelSource, resolve

N_CTX = 4096
TOP_LOGPROBS = 1000


def _server(source: ModelSource, n_ctx: int, threads: int | None) -> Any:
    try:
        import xllamacpp  # type: ignore[import-untyped]
    except ImportError:
        raise DatatrainerError("GGUF models in llama.cpp need xllamacpp: pip install 'datatrainer[eval]'") from None
    params = xllamacpp.CommonParams()
    params.model.path = str(source.gguf_path)
    params.n_ctx = n_ctx
    params.n_parallel = 1
    params.warmup = False
    params.verbosity = -1
    cores = threads or len(os.sched_getaffinity(0))
    params.cpuparams.n_threads = cores
    params.cpuparams_batch.n_threads = cores
    return xllamacpp.Server(params)


def _runtime() -> str:
    return f"xllamacpp=={importlib.metadata.version('xllamacpp')}"


class XLlamaCppGenerator:
    """A GGUF model loaded once; `complete` and `chat` take batches and return texts in input order."""

    def __init__(self, model: str, *, n_ctx: int = N_CTX, threads: int | None = None) -> None:
        self.source = resolve(model)
        self.n_ctx = n_ctx
        self._server = _server(self.source, n_ctx, threads)
        self._chat_template = _has_chat_template(self.source.gguf_path)

    @property
    def name(self) -> str:
        return self.source.name

    def config(self) -> dict[str, Any]:
        return {"backend": "xllamacpp", "model": self.source.model, "weights": self.source.weights,
                "runtime": _runtime(), "n_ctx": self.n_ctx}

    def complete(self, prompts: Sequence[str], *, max_tokens: int, temperature: float = 0.0, seed: int = 0,
                 stop: Sequence[str] = ()) -> list[str]:
        """Raw continuations of each prompt."""
        return [self._text(self._server.handle_completions(
            {"prompt": prompt, "n_predict": max_tokens, "temperature": temperature, "seed": seed,
             "stop": list(stop), "cache_prompt": False}), "text") for prompt in prompts]

    def chat(self, messages: Sequence[str], *, max_tokens: int, temperature: float = 0.0, seed: int = 0) -> list[str]:
        """The assistant's answer to each single-turn user message, under the model's chat template."""
        return [self._text(self._server.handle_chat_completions(
            {"messages": [{"role": "user", "content": message}], "max_tokens": max_tokens,
             "temperature": temperature, "seed": seed, "cache_prompt": False}), "message") for message in messages]

    @property
    def chat_template(self) -> bool:
        """Whether the GGUF carries a chat template (instruction models do); without one, `chat` would fall
        back to llama.cpp's default template, so callers `complete` instead."""
        return self._chat_template

    def _text(self, response: Any, kind: str) -> str:
        choice = _choice(response, self.name)
        text = choice["text"] if kind == "text" else choice["message"]["content"]
        return str(text or "")


class XLlamaCppLM:
    """A GGUF model in llama.cpp (`xllamacpp`) behind the `LanguageModel` protocol (no `sequence_nll`)."""

    def __init__(self, model: str = "smollm2", *, n_ctx: int = N_CTX, threads: int | None = None,
                 top_logprobs: int = TOP_LOGPROBS) -> None:
        from datatrainer.models.lm.hf_tokenizer import load_tokenizer

        self.source = resolve(model)
        self.n_ctx, self.top_logprobs = n_ctx, top_logprobs
        self._server = _server(self.source, n_ctx, threads)
        self._tokenizer = load_tokenizer(str(self.source.gguf_path))
        bos = self._tokenizer.bos_token
        # the server puts BOS before a prompt itself when the GGUF says so; a chat template that writes it too
        # would give two
        self._server_bos = bos if bos and _metadata(self.source.gguf_path, "tokenizer.ggml.add_bos_token",
                                                    True) else None

    @property
    def name(self) -> str:
        return self.source.name

    def config(self) -> dict[str, Any]:
        return {"backend": "xllamacpp", "model": self.source.model, "gguf_file": self.source.gguf_file,
                "weights": self.source.weights, "runtime": _runtime(), "top_logprobs": self.top_logprobs}

    def truncate(self, texts: Sequence[str], max_tokens: int) -> list[str]:
        from datatrainer.models.lm.hf_tokenizer import truncate_with

        return truncate_with(self._tokenizer, texts, max_tokens)

    def format_prompt(self, user_message: str) -> str:
        from datatrainer.models.lm.hf_tokenizer import chat_prompt

        return chat_prompt(self._tokenizer, user_message)

    def next_token_logprobs(self, prompts: Sequence[str], candidates: Sequence[str]) -> FloatArray:
        out = np.full((len(prompts), len(candidates)), -np.inf)
        column = {candidate: i for i, candidate in enumerate(candidates)}
        for row, prompt in enumerate(prompts):
            if self._server_bos and prompt.startswith(self._server_bos):
                prompt = prompt[len(self._server_bos):]
            response = self._server.handle_completions(
                {"prompt": prompt, "n_predict": 1, "n_probs": self.top_logprobs, "temperature": 0.0,
                 "cache_prompt": False, "post_sampling_probs": False})
            for entry in _choice(response, self.name)["logprobs"]["content"][0]["top_logprobs"]:
                if (i := column.get(entry["token"])) is not None:
                    out[row, i] = max(out[row, i], float(entry["logprob"]))
        return out

    def sequence_nll(self, texts: Sequence[str]) -> tuple[FloatArray, FloatArray]:
        raise DatatrainerError("the xllamacpp backend cannot score a text's own tokens (llama.cpp's embedded server "
                               "returns no prompt log-probabilities): use --backend transformers or llamacpp")


def _choice(response: Any, name: str) -> dict[str, Any]:
    if not isinstance(response, dict) or "choices" not in response:
        detail = response.get("error", response) if isinstance(response, dict) else response
        raise DatatrainerError(f"llama.cpp could not run {name}: {str(detail)[:200]}")
    choice: dict[str, Any] = response["choices"][0]
    return choice


def _metadata(path: Path, key: str, default: object) -> object:
    from gguf import GGUFReader

    field = GGUFReader(path).fields.get(key)
    return default if field is None else field.parts[field.data[0]].tolist()[0]


def _has_chat_template(path: Path) -> bool:
    from gguf import GGUFReader

    return "tokenizer.chat_template" in GGUFReader(path).fields
