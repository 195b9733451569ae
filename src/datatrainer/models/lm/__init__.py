"""Language models for Ask-LLM and perplexity scoring, behind one protocol (`LanguageModel`).

`load_language_model` is what user-facing code (the CLI's `--model` and `--backend`) calls; backends are
imported only when chosen, so the HTTP backend does not pay for torch and llama.cpp stays optional.
"""

from __future__ import annotations

import inspect
from typing import Any, Literal, get_args

from datatrainer.errors import DatatrainerError
from datatrainer.models.lm.base import FloatArray, LanguageModel

Backend = Literal["transformers", "llamacpp", "xllamacpp", "openai"]
BACKENDS: tuple[str, ...] = get_args(Backend)

__all__ = ["BACKENDS", "Backend", "FloatArray", "LanguageModel", "load_language_model"]


def load_language_model(model: str = "smollm2", backend: Backend = "transformers", **options: Any) -> LanguageModel:
    """A loaded model: `smollm2` (the bundled SmolLM2-135M-Instruct GGUF), a packaged GGUF's alias
    (`qwen2.5-coder-0.5b`, `qwen2.5-coder-1.5b`, `gemma3-270m`: `models.lm.packaged`), a `.gguf` path, a model
    folder or a hub id from the local cache; for `openai`, the server's model name with `base_url=`. Options go
    to the backend (transformers: gguf_file, dtype, quantize, batch_tokens, max_rows, threads; llamacpp: n_ctx,
    n_batch, threads; xllamacpp: n_ctx, threads, top_logprobs; openai: base_url, api_key, tokenizer,
    top_logprobs, batch_size, timeout, retries)."""
    chosen = _backend_class(backend)
    parameters = inspect.signature(chosen.__init__).parameters
    accepted = [name for name, p in parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    if unknown := sorted(set(options) - set(accepted)):
        raise DatatrainerError(f"the {backend} backend has no option {unknown[0]!r}; it takes {', '.join(accepted)}")
    if missing := [name for name in accepted if parameters[name].default is inspect.Parameter.empty
                   and name not in options]:
        raise DatatrainerError(f"the {backend} backend needs {missing[0]}= (e.g. base_url=http://127.0.0.1:8000/v1)")
    loaded: LanguageModel = chosen(model, **options)
    return loaded


def _backend_class(backend: str) -> type[Any]:
    if backend == "transformers":
        from datatrainer.models.lm.hf import TransformersLM

        return TransformersLM
    if backend == "llamacpp":
        from datatrainer.models.lm.llamacpp import LlamaCppLM

        return LlamaCppLM
    if backend == "xllamacpp":
        from datatrainer.models.lm.xllamacpp import XLlamaCppLM

        return XLlamaCppLM
    if backend == "openai":
        from datatrainer.models.lm.openai_http import OpenAICompatibleLM

        return OpenAICompatibleLM
    raise DatatrainerError(f"unknown language-model backend {backend!r}: use one of {', '.join(BACKENDS)}")
