"""The llama.cpp backend (`llama-cpp-python`, optional): GGUF models run as quantised, without de-quantising.

Prompts run one at a time (llama.cpp batches a prompt's tokens itself), each from an empty KV cache. Reusing
the prefix shared with the previous prompt would save the chat template's tokens, but llama.cpp's quantised
kernels round differently for different batch shapes (seen here: 0.07 in a log-probability when only the last
token was re-run), so a score would depend on which document came before, and scores are cached by content.
Logits are read with `llama_get_logits_ith` (the high-level `Llama.scores` stays zero unless
every position's logits are kept). Perplexity needs every position's logits, so `sequence_nll` uses a second
context with `logits_all=True`, opened on first use (it holds n_ctx x vocab float32 scores).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from datatrainer.errors import DatatrainerError
from datatrainer.models.lm.base import FloatArray
from datatrainer.models.lm.sources import resolve
from datatrainer.models.lm.tokens import truncate_texts

N_CTX = 2048
N_BATCH = 512


class LlamaCppLM:
    """A GGUF model in llama.cpp behind the `LanguageModel` protocol."""

    def __init__(self, model: str = "smollm2", *, gguf_file: str | None = None, n_ctx: int = N_CTX,
                 n_batch: int = N_BATCH, threads: int | None = None) -> None:
        self._llama_cpp = _import_llama_cpp()
        self.source = resolve(model, gguf_file)
        self.n_ctx = n_ctx
        self._options = {"model_path": str(self.source.gguf_path), "n_ctx": n_ctx, "n_batch": n_batch,
                         "n_threads": threads or len(os.sched_getaffinity(0)), "verbose": False}
        self._llm = self._open(logits_all=False)
        self._all_logits: Any = None
        self._template: str | None = self._llm.metadata.get("tokenizer.chat_template")
        self._bos_id = int(self._llm.token_bos())
        self._add_bos = self._llm.metadata.get("tokenizer.ggml.add_bos_token", "true") != "false"

    @property
    def name(self) -> str:
        return self.source.name

    def config(self) -> dict[str, Any]:
        return {"backend": "llamacpp", "model": self.source.model, "gguf_file": self.source.gguf_file,
                "weights": self.source.weights, "llama_cpp": importlib.metadata.version("llama-cpp-python"),
                "chat_template": hashlib.sha256(self._template.encode()).hexdigest()[:16] if self._template else None}

    def truncate(self, texts: Sequence[str], max_tokens: int) -> list[str]:
        return truncate_texts(texts, [self._encode(text) for text in texts], max_tokens, self._encode,
                              self._decode)

    def format_prompt(self, user_message: str) -> str:
        if not self._template:
            return user_message
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        formatter = Jinja2ChatFormatter(self._template, eos_token=self._piece(self._llm.token_eos()),
                                        bos_token=self._piece(self._bos_id), add_generation_prompt=True)
        prompt: str = formatter(messages=[{"role": "user", "content": user_message}]).prompt
        return prompt

    def next_token_logprobs(self, prompts: Sequence[str], candidates: Sequence[str]) -> FloatArray:
        ids = [self._first_token(candidate) for candidate in candidates]
        out = np.empty((len(prompts), len(ids)), dtype=np.float64)
        for row, prompt in enumerate(prompts):
            out[row] = _log_softmax(self._next_token_logits(prompt, row))[ids]
        return out

    def next_token_distribution(self, prompts: Sequence[str]) -> FloatArray:
        """Full-vocabulary log-probabilities of the next token, (len(prompts), vocab)."""
        return np.stack([_log_softmax(self._next_token_logits(prompt, row)) for row, prompt in enumerate(prompts)])

    def sequence_nll(self, texts: Sequence[str]) -> tuple[FloatArray, FloatArray]:
        if self._all_logits is None:
            self._all_logits = self._open(logits_all=True)
        llm = self._all_logits
        nll = np.zeros(len(texts), dtype=np.float64)
        counts = np.zeros(len(texts), dtype=np.float64)
        for row, text in enumerate(texts):
            ids = [self._bos_id] + self._encode(text)
            self._check_context(ids, row)
            if len(ids) < 2:
                continue
            llm.reset()
            llm.eval(ids)
            logits = np.asarray(llm.scores[:len(ids) - 1], dtype=np.float64)
            logprobs = _log_softmax(logits)[np.arange(len(ids) - 1), ids[1:]]
            nll[row], counts[row] = -math.fsum(logprobs.tolist()), len(ids) - 1
        return nll, counts

    def _next_token_logits(self, prompt: str, row: int) -> FloatArray:
        llm = self._llm
        ids = self._encode(prompt, special=True, bos=self._add_bos)
        if not ids:
            raise DatatrainerError(f"prompt {row} is empty: there is nothing to predict the next token from")
        self._check_context(ids, row)
        llm.reset()
        llm.eval(ids)
        logits = self._llama_cpp.llama_get_logits_ith(llm.ctx, -1)
        return np.ctypeslib.as_array(logits, shape=(llm.n_vocab(),)).astype(np.float64)

    def _open(self, logits_all: bool) -> Any:
        try:
            with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull):
                return self._llama_cpp.Llama(**self._options, logits_all=logits_all)
        except (ValueError, RuntimeError) as exc:
            raise DatatrainerError(f"llama.cpp cannot load {self.source.gguf_path}: {exc}") from None

    def _encode(self, text: str, special: bool = True, bos: bool = False) -> list[int]:
        ids = [int(i) for i in self._llm.tokenize(text.encode("utf-8"), add_bos=bos, special=special)]
        return ids[1:] if ids[:2] == [self._bos_id, self._bos_id] else ids

    def _decode(self, ids: Sequence[int]) -> str:
        return bytes(self._llm.detokenize(list(ids), special=True)).decode("utf-8", errors="replace")

    def _piece(self, token_id: int) -> str:
        return self._decode([token_id]) if token_id >= 0 else ""

    def _first_token(self, candidate: str) -> int:
        ids = self._encode(candidate)
        if not ids:
            raise DatatrainerError(f"answer candidate {candidate!r} is empty in {self.name}'s vocabulary")
        return ids[0]

    def _check_context(self, ids: Sequence[int], row: int) -> None:
        if len(ids) > self.n_ctx:
            raise DatatrainerError(f"input {row} has {len(ids)} tokens, more than the llama.cpp context of "
                                   f"{self.n_ctx} (n_ctx): truncate it first")


def _import_llama_cpp() -> Any:
    try:
        import llama_cpp
    except ImportError:
        raise DatatrainerError("the llamacpp backend needs llama-cpp-python: pip install llama-cpp-python "
                               "(or pip install 'datatrainer[llamacpp]'; it compiles llama.cpp, ~5 min)") from None
    return llama_cpp


def _log_softmax(logits: FloatArray) -> FloatArray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    result: FloatArray = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return result
