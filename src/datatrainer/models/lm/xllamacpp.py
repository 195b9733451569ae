"""Text generation from a GGUF model in llama.cpp through the prebuilt `xllamacpp` wheel (no compiler needed).

`xllamacpp` embeds llama.cpp's server: requests are the OpenAI-style dictionaries the HTTP server takes, handled
in-process. The server applies the model's own chat template (`chat`) or continues a raw prompt (`complete`),
with greedy decoding at temperature 0 and seeded sampling otherwise. This backend generates; it does not
score (the embedded server exposes no prompt log-probabilities), so perplexity and multiple-choice use the
transformers backend.
"""

from __future__ import annotations

import importlib.metadata
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from datatrainer.errors import DatatrainerError
from datatrainer.models.lm.sources import resolve

N_CTX = 4096


class XLlamaCppGenerator:
    """A GGUF model loaded once; `complete` and `chat` take batches and return texts in input order."""

    def __init__(self, model: str, *, n_ctx: int = N_CTX, threads: int | None = None) -> None:
        try:
            import xllamacpp  # type: ignore[import-untyped]
        except ImportError:
            raise DatatrainerError("GGUF generation needs xllamacpp: pip install 'datatrainer[eval]'") from None
        self.source = resolve(model)
        path = self.source.gguf_path
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_ctx = n_ctx
        params.n_parallel = 1
        params.warmup = False
        params.verbosity = -1
        cores = threads or len(os.sched_getaffinity(0))
        params.cpuparams.n_threads = cores
        params.cpuparams_batch.n_threads = cores
        self.n_ctx = n_ctx
        self._version = importlib.metadata.version("xllamacpp")
        self._chat_template = _has_chat_template(path)
        self._server = xllamacpp.Server(params)

    @property
    def name(self) -> str:
        return self.source.name

    def config(self) -> dict[str, Any]:
        return {"backend": "xllamacpp", "model": self.source.model, "weights": self.source.weights,
                "runtime": f"xllamacpp=={self._version}", "n_ctx": self.n_ctx}

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
        if not isinstance(response, dict) or "choices" not in response:
            detail = response.get("error", response) if isinstance(response, dict) else response
            raise DatatrainerError(f"llama.cpp could not generate with {self.name}: {str(detail)[:200]}")
        choice = response["choices"][0]
        text = choice["text"] if kind == "text" else choice["message"]["content"]
        return str(text or "")


def _has_chat_template(path: Path) -> bool:
    from gguf import GGUFReader

    return "tokenizer.chat_template" in GGUFReader(path).fields
