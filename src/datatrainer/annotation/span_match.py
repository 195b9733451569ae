"""Span agreement between two annotations of the same documents: precision, recall and F1, exact or overlap.

Exact match (same start, end and label) is the CoNLL/seqeval convention and the one a trained NER model is judged
by; overlap match (same label, ranges sharing a character) separates boundary disputes from real disagreement
about what is an entity. Overlap matching is one-to-one and maximal (augmenting paths over the bipartite graph of
overlapping same-label spans), so one long span cannot claim several short ones and the count does not depend on
the order spans were listed; every exact match is also an overlap match, so overlap F1 >= exact F1.

Counts are kept rather than ratios so results pool correctly over documents, annotator pairs and labels.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from datatrainer.annotation.spans import Span

MatchMode = Literal["exact", "overlap"]


@dataclass(frozen=True)
class PRF:
    """Matched, predicted and gold span counts, and their ratios (None where a denominator is zero).

    The ratios are fields, not properties, so `dataclasses.asdict` hands them to JSON consumers.
    F1 is ``2 * matched / (predicted + gold)``: 0 when one side is empty, None when both are.
    """

    matched: int = 0
    predicted: int = 0
    gold: int = 0
    precision: float | None = field(init=False)
    recall: float | None = field(init=False)
    f1: float | None = field(init=False)

    def __post_init__(self) -> None:
        total = self.predicted + self.gold
        object.__setattr__(self, "precision", self.matched / self.predicted if self.predicted else None)
        object.__setattr__(self, "recall", self.matched / self.gold if self.gold else None)
        object.__setattr__(self, "f1", 2 * self.matched / total if total else None)

    def __add__(self, other: PRF) -> PRF:
        return PRF(self.matched + other.matched, self.predicted + other.predicted, self.gold + other.gold)


@dataclass(frozen=True)
class SpanScores:
    """Micro-averaged counts over all labels, and the same counts per label."""

    micro: PRF = PRF()
    per_label: dict[str, PRF] = field(default_factory=dict)

    def __add__(self, other: SpanScores) -> SpanScores:
        labels = self.per_label.keys() | other.per_label.keys()
        return SpanScores(self.micro + other.micro,
                          {label: self.per_label.get(label, PRF()) + other.per_label.get(label, PRF())
                           for label in sorted(labels)})


def span_scores(gold: Iterable[Collection[Span]], predicted: Iterable[Collection[Span]],
                mode: MatchMode = "exact") -> SpanScores:
    """Score ``predicted`` against ``gold``, document by document (the two iterables are paired)."""
    total = SpanScores()
    for gold_spans, predicted_spans in zip(gold, predicted, strict=True):
        total += document_scores(gold_spans, predicted_spans, mode)
    return total


def document_scores(gold: Collection[Span], predicted: Collection[Span], mode: MatchMode = "exact") -> SpanScores:
    """Counts for one document; duplicate spans count once, as a span is a fact about the text."""
    gold_by_label, predicted_by_label = _by_label(gold), _by_label(predicted)
    per_label: dict[str, PRF] = {}
    for label in sorted(gold_by_label.keys() | predicted_by_label.keys()):
        g, p = gold_by_label.get(label, []), predicted_by_label.get(label, [])
        matched = len(set(g) & set(p)) if mode == "exact" else _max_overlap_matching(g, p)
        per_label[label] = PRF(matched, len(p), len(g))
    micro = sum(per_label.values(), PRF())
    return SpanScores(micro, per_label)


def _by_label(spans: Collection[Span]) -> dict[str, list[Span]]:
    grouped: dict[str, list[Span]] = defaultdict(list)
    for span in sorted(set(spans)):
        grouped[span.label].append(span)
    return grouped


def _max_overlap_matching(gold: list[Span], predicted: list[Span]) -> int:
    """Size of a maximum one-to-one matching between overlapping spans (Kuhn's augmenting paths)."""
    neighbours = [[j for j, g in enumerate(gold) if p.overlaps(g)] for p in predicted]
    owner: list[int | None] = [None] * len(gold)
    return sum(1 for i in range(len(predicted)) if _augment(i, neighbours, owner))


def _augment(start: int, neighbours: list[list[int]], owner: list[int | None]) -> bool:
    """Find an augmenting path from predicted span ``start`` and flip it; iterative, so no recursion limit."""
    seen: set[int] = set()
    frames: list[tuple[int, Iterator[int]]] = [(start, iter(neighbours[start]))]
    taken: list[int] = []  # the gold span each frame is trying to take, frame by frame
    while frames:
        _, candidates = frames[-1]
        for j in candidates:
            if j in seen:
                continue
            seen.add(j)
            current = owner[j]
            if current is None:
                taken.append(j)
                for (frame_i, _), frame_j in zip(frames, taken, strict=True):
                    owner[frame_j] = frame_i
                return True
            taken.append(j)
            frames.append((current, iter(neighbours[current])))
            break
        else:
            frames.pop()
            if taken:
                taken.pop()
    return False
