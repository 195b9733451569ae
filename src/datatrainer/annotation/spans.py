"""The span and document model every annotation component shares.

Spans are character offsets ``[start, end)`` into a document's ``text`` so that every format (BIO, spaCy, Label
Studio, datasets) converts from one representation, and tokenisation choices never leak into stored results.
The dataclasses are frozen so annotations can be hashed, deduplicated and compared as sets in agreement code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from datatrainer.errors import InputError


@dataclass(frozen=True, order=True)
class Span:
    """A labelled character range ``[start, end)``; ordering sorts by position then label."""

    start: int
    end: int
    label: str

    def overlaps(self, other: Span) -> bool:
        """Whether the two ranges share at least one character (touching ends do not overlap)."""
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class AnnotatedDoc:
    """One record with its annotations: spans for NER, labels for classification, free-form meta."""

    id: str
    text: str
    spans: tuple[Span, ...] = ()
    labels: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict, hash=False, compare=True)


def check_span(span: Span, text: str, location: str) -> None:
    """Raise a one-line `InputError` at ``location`` if the span is empty, reversed or outside ``text``."""
    if not isinstance(span.start, int) or not isinstance(span.end, int):
        raise InputError(location, f"span offsets must be integers, got start={span.start!r} end={span.end!r}")
    if not 0 <= span.start < span.end <= len(text):
        raise InputError(
            location, f"span [{span.start}, {span.end}) is empty or outside the text of length {len(text)}"
        )
    if not span.label:
        raise InputError(location, f"span [{span.start}, {span.end}) has an empty label")


def check_doc(doc: AnnotatedDoc, location: str, allow_overlap: bool = True) -> None:
    """Validate every span of ``doc``; with ``allow_overlap=False`` also reject overlapping spans."""
    for span in doc.spans:
        check_span(span, doc.text, f"{location}: doc {doc.id!r}")
    if not allow_overlap:
        pair = first_overlap(doc.spans)
        if pair is not None:
            a, b = pair
            raise InputError(
                f"{location}: doc {doc.id!r}",
                f"spans [{a.start}, {a.end}) {a.label!r} and [{b.start}, {b.end}) {b.label!r} overlap",
            )


def first_overlap(spans: Iterable[Span]) -> tuple[Span, Span] | None:
    """The first pair of overlapping spans in position order, or None; sorting makes this O(n log n)."""
    ordered = sorted(spans)
    furthest: Span | None = None
    for span in ordered:
        if furthest is not None and span.start < furthest.end:
            return furthest, span
        if furthest is None or span.end > furthest.end:
            furthest = span
    return None


def has_overlap(spans: Iterable[Span]) -> bool:
    """Whether any two spans share a character."""
    return first_overlap(spans) is not None
