"""The `LanguageModel` protocol every backend (transformers, llama.cpp, OpenAI-compatible HTTP) implements.

Scorers never touch a backend's tensors: they ask for two things a causal or seq2seq LM can always give.
`next_token_logprobs` is what Ask-LLM needs (the answer distribution after a prompt); `sequence_nll` is what
perplexity needs (the document's own token log-likelihoods). Both take whole batches so a backend can bucket
by length, pad little and use every core; both return plain NumPy arrays in input order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


class LanguageModel(Protocol):
    """A loaded language model. `config()` names everything that changes its outputs (model id or path,
    GGUF file, backend, dtype/quantisation, revision), so scores cached under its hash are reused exactly
    when they would be recomputed identically."""

    @property
    def name(self) -> str:
        """A short folder-safe name (e.g. `SmolLM2-135M-Instruct`), used in cache paths and reports."""
        ...

    def config(self) -> dict[str, Any]: ...

    def truncate(self, texts: Sequence[str], max_tokens: int) -> list[str]:
        """Each text cut to at most `max_tokens` of this model's tokens (whole tokens, decoded back)."""
        ...

    def format_prompt(self, user_message: str) -> str:
        """The text the model reads for one user turn: the chat template with the generation prompt added
        for instruction models (the first answer token comes next), the message itself otherwise."""
        ...

    def next_token_logprobs(self, prompts: Sequence[str], candidates: Sequence[str]) -> FloatArray:
        """log P(candidate token | prompt) over the FULL vocabulary at the first generated position.

        Shape (len(prompts), len(candidates)). Each candidate is one token's text (e.g. "yes", " yes", "Yes");
        a candidate that is not a single token of this vocabulary is scored by its first token. Prompts are
        already formatted (see `format_prompt`). For seq2seq models this is the decoder's first step. Backends
        that only see the top-k alternatives (HTTP) return -inf for candidates outside the top-k.
        """
        ...

    def sequence_nll(self, texts: Sequence[str]) -> tuple[FloatArray, FloatArray]:
        """(sum of token negative log-likelihoods, number of scored tokens) per text, in nats.

        The first token is conditioned on the model's BOS token when it has one; mean NLL = sum / count and
        perplexity = exp(mean NLL). Texts are scored as given (callers truncate first).
        """
        ...
