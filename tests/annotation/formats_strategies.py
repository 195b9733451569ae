"""Hypothesis strategies for annotated documents, shared by the format tests."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from datatrainer.annotation.formats.tokens import Offsets
from datatrainer.annotation.spans import AnnotatedDoc, Span

LABELS = st.sampled_from(["PER", "ORG", "LOC", "B-MISC", "ünï"])
DOC_LABELS = st.sampled_from(["news", "sport", "toxic", "ok"])
# Words, punctuation, several kinds of line breaks and whitespace, escapes and non-ASCII: what trips up writers.
TEXT = st.text(st.sampled_from([*"ab Zé,.\n\r\t\\#-=", "東", "京", "\u2028", "\x85", "\x1c"]), min_size=1, max_size=40)
META = st.dictionaries(st.sampled_from(["source", "n", "tags"]),
                       st.one_of(st.text(max_size=5), st.integers(-5, 5), st.lists(st.booleans(), max_size=2)),
                       max_size=2)


@st.composite
def docs(draw: st.DrawFn, with_meta: bool = True) -> list[AnnotatedDoc]:
    """Documents with any valid spans (overlaps allowed), unique ids."""
    out = []
    for index in range(draw(st.integers(0, 4))):
        text = draw(TEXT)
        spans = draw(st.lists(st.tuples(st.integers(0, len(text) - 1), st.integers(1, len(text)), LABELS)
                              .filter(lambda t: t[0] < t[1]).map(lambda t: Span(*t)), max_size=4, unique=True))
        meta: dict[str, Any] = draw(META) if with_meta else {}
        out.append(AnnotatedDoc(f"doc-{index}", text, tuple(spans),
                                tuple(draw(st.lists(DOC_LABELS, max_size=2, unique=True))), meta))
    return out


@st.composite
def token_aligned(draw: st.DrawFn, tokens: Offsets, overlapping: bool = False) -> tuple[Span, ...]:
    """Spans starting and ending on token boundaries; non-overlapping unless asked."""
    if not tokens:
        return ()
    if overlapping:
        pairs = draw(st.lists(st.tuples(st.integers(0, len(tokens) - 1), st.integers(1, len(tokens)), LABELS)
                              .filter(lambda t: t[0] < t[1]), max_size=4, unique=True))
        return tuple(Span(tokens[a][0], tokens[b - 1][1], label) for a, b, label in pairs)
    spans, i = [], 0
    while i < len(tokens):
        length = draw(st.integers(0, len(tokens) - i))
        if length:
            spans.append(Span(tokens[i][0], tokens[i + length - 1][1], draw(LABELS)))
            i += length
        else:
            i += 1
    return tuple(spans)
