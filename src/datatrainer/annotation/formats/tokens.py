"""Tokenisation for the token-based formats (CoNLL BIO, spaCy) and snapping spans to token boundaries.

Spans are stored as character offsets, but BIO tags and spaCy entities live on tokens: a span that starts or
ends inside a token is widened to the tokens it touches, so no annotated character of a token is lost; whitespace
at a span's edges belongs to no token and falls away.
The default tokenizer (runs of word characters, or single other non-space characters) needs no model; the
spaCy one matches what a spaCy pipeline trained on the export will see.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Literal

from datatrainer.annotation.spans import Span
from datatrainer.errors import DatatrainerError

if TYPE_CHECKING:
    from spacy.language import Language

TokenizerName = Literal["simple", "spacy"]
Offsets = list[tuple[int, int]]
_SIMPLE = re.compile(r"\w+|[^\w\s]")


def simple_tokens(text: str) -> Offsets:
    """Character offsets of word runs and single punctuation marks."""
    return [match.span() for match in _SIMPLE.finditer(text)]


def spacy_tokens(text: str) -> Offsets:
    """Character offsets of spaCy's blank English tokens, leaving out whitespace-only tokens."""
    return [(token.idx, token.idx + len(token)) for token in blank_english().make_doc(text) if not token.is_space]


@cache
def blank_english() -> Language:
    """A blank English pipeline (tokenizer only, no model to download); built once per process."""
    try:
        import spacy
    except ImportError:  # pragma: no cover - depends on the installed extras
        raise DatatrainerError("spaCy formats need the 'annotate' extra: pip install 'datatrainer[annotate]'") from None
    return spacy.blank("en")


def tokenizer(name: str) -> Callable[[str], Offsets]:
    choices: dict[str, Callable[[str], Offsets]] = {"simple": simple_tokens, "spacy": spacy_tokens}
    if name not in choices:
        raise DatatrainerError(f"unknown tokenizer {name!r}; choose one of {', '.join(choices)}")
    return choices[name]


def snap(span: Span, tokens: Sequence[tuple[int, int]]) -> tuple[int, int] | None:
    """Indices ``[first, last)`` of the tokens the span touches, or None when it covers no token."""
    ends = [end for _, end in tokens]
    starts = [start for start, _ in tokens]
    first = bisect_right(ends, span.start)  # first token ending after the span starts
    last = bisect_left(starts, span.end)  # tokens starting before the span ends
    return (first, last) if first < last else None
