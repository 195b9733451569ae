"""Cutting a text to a token budget, for any backend that can encode and decode.

Decoding the first n tokens is not enough: a byte-level tokenizer can split a character across tokens (the
prefix then ends in U+FFFD), and a decoded prefix can re-encode to more tokens than it came from. The cut is
the longest prefix that avoids both, so the promise "at most `max_tokens` tokens" holds for what the model
will actually read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from datatrainer.errors import DatatrainerError

Encode = Callable[[str], Sequence[int]]
Decode = Callable[[Sequence[int]], str]


def cut_to_budget(ids: Sequence[int], max_tokens: int, encode: Encode, decode: Decode) -> str:
    """The decoded text of the longest prefix of `ids` (at most `max_tokens`) that is whole characters and
    re-encodes within the budget."""
    for keep in range(min(max_tokens, len(ids)), 0, -1):
        text = decode(ids[:keep])
        if not text.endswith("\ufffd") and len(encode(text)) <= max_tokens:
            return text
    return ""


def truncate_texts(texts: Sequence[str], encoded: Sequence[Sequence[int]], max_tokens: int, encode: Encode,
                   decode: Decode) -> list[str]:
    """Texts within the budget unchanged (never round-tripped through the tokenizer), the others cut."""
    if max_tokens < 0:
        raise DatatrainerError(f"a token budget must be >= 0 (got {max_tokens})")
    return [text if len(ids) <= max_tokens else cut_to_budget(ids, max_tokens, encode, decode)
            for text, ids in zip(texts, encoded, strict=True)]
