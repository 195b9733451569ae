"""Text generation for generative suites (HumanEval), from a transformers model or a GGUF file in llama.cpp.

Both kinds meet in the `Generator` protocol: `complete` continues raw prompts (base models), `chat` answers
single-turn user messages under the model's chat template (instruction models). Temperature 0 is greedy
decoding; above it, sampling seeded by `seed` (a different seed per sample for pass@k with k > 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from datatrainer.errors import DatatrainerError
from datatrainer.workspace import Workspace

BATCH_SIZE = 8


class Generator(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def chat_template(self) -> bool:
        """Whether the model has a chat template (then `chat` is how to prompt it)."""
        ...

    def config(self) -> dict[str, Any]: ...

    def complete(self, prompts: Sequence[str], *, max_tokens: int, temperature: float = 0.0, seed: int = 0,
                 stop: Sequence[str] = ()) -> list[str]: ...

    def chat(self, messages: Sequence[str], *, max_tokens: int, temperature: float = 0.0,
             seed: int = 0) -> list[str]: ...


class TransformersGenerator:
    """`model.generate` over left-padded batches of a loaded causal LM."""

    def __init__(self, model: Any, tokenizer: Any, name: str, config: dict[str, Any],
                 batch_size: int = BATCH_SIZE) -> None:
        self._model, self._tokenizer = model, tokenizer
        self._name, self._config = name, config
        self.batch_size = batch_size
        tokenizer.padding_side = "left"
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token

    @property
    def name(self) -> str:
        return self._name

    @property
    def chat_template(self) -> bool:
        return bool(getattr(self._tokenizer, "chat_template", None))

    def config(self) -> dict[str, Any]:
        return {"backend": "transformers", **self._config}

    def complete(self, prompts: Sequence[str], *, max_tokens: int, temperature: float = 0.0, seed: int = 0,
                 stop: Sequence[str] = ()) -> list[str]:
        texts = self._generate(list(prompts), max_tokens, temperature, seed, True)
        return [cut_at(text, stop) for text in texts]

    def chat(self, messages: Sequence[str], *, max_tokens: int, temperature: float = 0.0,
             seed: int = 0) -> list[str]:
        prompts = [self._tokenizer.apply_chat_template([{"role": "user", "content": message}], tokenize=False,
                                                       add_generation_prompt=True) for message in messages]
        return self._generate(prompts, max_tokens, temperature, seed, False)

    def _generate(self, prompts: list[str], max_tokens: int, temperature: float, seed: int,
                  special_tokens: bool) -> list[str]:
        import torch

        out: list[str] = []
        for start in range(0, len(prompts), self.batch_size):
            batch = self._tokenizer(prompts[start:start + self.batch_size], return_tensors="pt", padding=True,
                                    add_special_tokens=special_tokens)
            torch.manual_seed(seed)
            sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
            with torch.inference_mode():
                generated = self._model.generate(**batch, max_new_tokens=max_tokens, pad_token_id=
                                                 self._tokenizer.pad_token_id, **sampling)
            new = generated[:, batch["input_ids"].shape[1]:]
            out += self._tokenizer.batch_decode(new, skip_special_tokens=True)
        return out


def load_generator(ws: Workspace | None, model: str, backend: str = "auto") -> Generator:
    """A `.gguf` file (or backend `xllamacpp`) runs in llama.cpp; anything else (a registered model, a folder,
    `smollm2`, a cached hub id) in transformers."""
    if backend not in ("auto", "transformers", "xllamacpp"):
        raise DatatrainerError(f"unknown generation backend {backend!r}: use auto, transformers or xllamacpp")
    if backend == "xllamacpp" or (backend == "auto" and Path(model).suffix == ".gguf"):
        from datatrainer.models.lm.xllamacpp import XLlamaCppGenerator

        return XLlamaCppGenerator(model)
    from datatrainer.evaluation.models import load_hf

    loaded, tokenizer, description = load_hf(ws, model)
    return TransformersGenerator(loaded, tokenizer, description["name"], description)


def cut_at(text: str, stop: Sequence[str]) -> str:
    """The text up to the first of the stop sequences."""
    cut = min((index for s in stop if (index := text.find(s)) >= 0), default=len(text))
    return text[:cut]
