"""Cutting a text to a token budget, for any backend that can encode and decode.

Decoding the first n tokens is not enough: a byte-level tokenizer can split a character across tokens, even
merge its last bytes with the next character's (the decoded prefix then holds U+FFFD where the text had a
character), and a decoded prefix can re-encode to more tokens than it came from. The cut is
the longest prefix that avoids both, so the promise "at most `max_tokens` tokens" holds for what the model
will actually read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from datatrainer.errors import DatatrainerError

Encode = Callable[[str], Sequence[int]]
Decode = Callable[[Sequence[int]], str]


def cut_to_budget(text: str, ids: Sequence[int], max_tokens: int, encode: Encode, decode: Decode) -> str:
    """The decoded text of the longest prefix of `ids` (at most `max_tokens`) that holds no broken character
    (no more U+FFFD than `text` itself) and re-encodes within the budget."""
    allowed = text.count("\ufffd")
    for keep in range(min(max_tokens, len(ids)), 0, -1):
        cut = decode(ids[:keep])
        if cut.count("\ufffd") <= allowed and len(encode(cut)) <= max_tokens:
            return cut
    return ""


def truncate_texts(texts: Sequence[str], encoded: Sequence[Sequence[int]], max_tokens: int, encode: Encode,
                   decode: Decode) -> list[str]:
    """Texts within the budget unchanged (never round-tripped through the tokenizer), the others cut."""
    if max_tokens < 0:
        raise DatatrainerError(f"a token budget must be >= 0 (got {max_tokens})")
    return [text if len(ids) <= max_tokens else cut_to_budget(text, ids, max_tokens, encode, decode)
            for text, ids in zip(texts, encoded, strict=True)]
