"""Tokenizer-side helpers shared by the transformers and HTTP backends: loading a tokenizer offline, chat
templates, truncation. Kept apart from the model code so that the HTTP backend never imports torch."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Sequence
from typing import Any

from datatrainer.models.lm.sources import hub_offline, not_found, resolve
from datatrainer.models.lm.tokens import truncate_texts


def load_tokenizer(model: str, gguf_file: str | None = None) -> Any:
    """Only the tokenizer (and chat template) of a model: what the HTTP backend needs to truncate and format
    prompts locally the way the server's model reads them."""
    hub_offline()
    source = resolve(model, gguf_file)
    auto = transformers_module().AutoTokenizer
    return quiet_load(model, lambda: auto.from_pretrained(source.path, gguf_file=source.gguf_file))


def chat_prompt(tokenizer: Any, user_message: str) -> str:
    """One user turn in the tokenizer's chat template with the generation prompt (the answer comes next);
    the message itself for a model without a template."""
    if not tokenizer.chat_template:
        return user_message
    text: str = tokenizer.apply_chat_template([{"role": "user", "content": user_message}], tokenize=False,
                                              add_generation_prompt=True)
    return text


def truncate_with(tokenizer: Any, texts: Sequence[str], max_tokens: int) -> list[str]:
    """`LanguageModel.truncate` for a Hugging Face tokenizer."""
    def encode(text: str) -> list[int]:
        ids: list[int] = tokenizer.encode(text, add_special_tokens=False)
        return ids

    def decode(ids: Sequence[int]) -> str:
        text: str = tokenizer.decode(list(ids), skip_special_tokens=False, clean_up_tokenization_spaces=False)
        return text

    encoded = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
    return truncate_texts(texts, encoded, max_tokens, encode, decode)


def transformers_module() -> Any:
    import transformers

    return transformers


def quiet_load(model: str, load: Callable[[], Any]) -> Any:
    """Load with one-line errors, and without the tqdm bar transformers' GGUF reader draws outside its logging
    switches ("de-quantizing GGUF tensors")."""
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            return load()
    except (OSError, ValueError) as exc:
        raise not_found(model, exc) from None
