"""Agreement reports over a project's annotations: overall, per annotator pair, per annotator, per label.

Input is ``item id -> annotator -> answer``, the shape the annotation service stores (labels for classification,
spans for NER), plus optionally the adjudicated answer per item. A reviewer needs three views: how reliable the
labels are overall (Fleiss' kappa where every item has the same number of annotators, Krippendorff's alpha always,
as it copes with missing annotations), which pair of annotators disagrees (Cohen's kappa or span F1 on the items
both did), and which single annotator drifts (pooled against everyone else, and against the adjudicated answer).

A classification answer is compared as a whole label set (for single-label schemas: the label), and each label
also as yes/no, so multi-label schemas get one coefficient per label. Every field is a plain number, string,
None or a dict/tuple of them, so `dataclasses.asdict` gives JSON for the CLI and the server.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import TypeVar

from datatrainer.annotation.agreement import binarise, cohen_kappa, fleiss_kappa, krippendorff_alpha
from datatrainer.annotation.span_match import SpanScores, document_scores
from datatrainer.annotation.spans import AnnotatedDoc, Span

Answer = TypeVar("Answer")


@dataclass(frozen=True)
class KappaResult:
    """Cohen's kappa of ``annotator`` against ``other`` over ``items`` paired ratings."""

    annotator: str
    other: str
    items: int
    kappa: float | None


@dataclass(frozen=True)
class LabelReliability:
    """One label scored as yes/no across all annotators."""

    label: str
    fleiss_kappa: float | None
    krippendorff_alpha: float | None
    chosen: int  # how many ratings chose the label


@dataclass(frozen=True)
class ClassificationAgreement:
    items: int  # items with at least two annotators
    annotators: tuple[str, ...]
    fleiss_kappa: float | None  # None also when items have different numbers of annotators
    krippendorff_alpha: float | None
    pairs: tuple[KappaResult, ...]
    vs_others: tuple[KappaResult, ...]  # other = "others": every (annotator, other) rating pair pooled
    vs_adjudicated: tuple[KappaResult, ...]  # other = "adjudicated"
    per_label: tuple[LabelReliability, ...]


@dataclass(frozen=True)
class SpanResult:
    """Span P/R/F1 of ``annotator`` (as predicted) against ``other`` (as gold), exact and overlap."""

    annotator: str
    other: str
    items: int
    exact: SpanScores
    overlap: SpanScores


@dataclass(frozen=True)
class SpanAgreement:
    items: int
    annotators: tuple[str, ...]
    pairs: tuple[SpanResult, ...]  # F1 is symmetric; P and R read with `other` as gold
    vs_others: tuple[SpanResult, ...]
    vs_adjudicated: tuple[SpanResult, ...]


OTHERS = "others"
ADJUDICATED = "adjudicated"


def classification_agreement(ratings: Mapping[str, Mapping[str, Collection[str]]],
                             adjudicated: Mapping[str, Collection[str]] | None = None,
                             labels: Iterable[str] = ()) -> ClassificationAgreement:
    """Agreement of label answers; ``labels`` adds schema labels nobody chose to the per-label table."""
    answers = {item: {who: frozenset(chosen) for who, chosen in by.items()} for item, by in ratings.items()}
    gold = {item: frozenset(chosen) for item, chosen in (adjudicated or {}).items()}
    annotators = _annotators(answers)
    every_label = sorted(set(labels).union(*(chosen for by in answers.values() for chosen in by.values())))

    def kappa(annotator: str, other: str, pairs: Sequence[tuple[Hashable, Hashable]]) -> KappaResult:
        return KappaResult(annotator, other, len(pairs),
                           cohen_kappa([a for a, _ in pairs], [b for _, b in pairs]) if pairs else None)

    return ClassificationAgreement(
        items=sum(1 for by in answers.values() if len(by) >= 2),
        annotators=annotators,
        fleiss_kappa=_fleiss(answers),
        krippendorff_alpha=krippendorff_alpha(list(by.values()) for by in answers.values()),
        pairs=tuple(kappa(a, b, _paired(answers, a, b)) for a, b in combinations(annotators, 2)),
        vs_others=tuple(kappa(a, OTHERS, _pooled(answers, a)) for a in annotators),
        vs_adjudicated=tuple(kappa(a, ADJUDICATED, _against(answers, gold, a)) for a in annotators) if gold
        else (),
        per_label=tuple(_label_reliability(answers, label) for label in every_label),
    )


def span_agreement(annotations: Mapping[str, Mapping[str, Collection[Span]]],
                   adjudicated: Mapping[str, Collection[Span]] | None = None) -> SpanAgreement:
    """Agreement of span answers, exact and overlap, micro and per label."""
    annotators = _annotators(annotations)
    gold = dict(adjudicated or {})

    def scores(annotator: str, other: str, pairs: list[tuple[Collection[Span], Collection[Span]]]) -> SpanResult:
        exact, overlap = SpanScores(), SpanScores()
        for predicted, reference in pairs:
            exact += document_scores(reference, predicted, "exact")
            overlap += document_scores(reference, predicted, "overlap")
        return SpanResult(annotator, other, len(pairs), exact, overlap)

    return SpanAgreement(
        items=sum(1 for by in annotations.values() if len(by) >= 2),
        annotators=annotators,
        pairs=tuple(scores(a, b, _paired(annotations, a, b)) for a, b in combinations(annotators, 2)),
        vs_others=tuple(scores(a, OTHERS, _pooled(annotations, a)) for a in annotators),
        vs_adjudicated=tuple(scores(a, ADJUDICATED, _against(annotations, gold, a)) for a in annotators) if gold
        else (),
    )


def group_by_item(docs: Iterable[AnnotatedDoc], annotator_key: str = "annotator") -> dict[str, dict[str, AnnotatedDoc]]:
    """Item id -> annotator -> doc, from docs that carry their annotator in ``meta`` (as file imports do).

    A doc without an annotator, or a second doc of the same item and annotator, is a programming error upstream
    and raises ValueError rather than silently dropping an annotation.
    """
    grouped: dict[str, dict[str, AnnotatedDoc]] = {}
    for doc in docs:
        annotator = doc.meta.get(annotator_key)
        if not isinstance(annotator, str) or not annotator:
            raise ValueError(f"doc {doc.id!r} has no meta[{annotator_key!r}] naming its annotator")
        by_annotator = grouped.setdefault(doc.id, {})
        if annotator in by_annotator:
            raise ValueError(f"doc {doc.id!r} is annotated twice by {annotator!r}")
        by_annotator[annotator] = doc
    return grouped


def _annotators(answers: Mapping[str, Mapping[str, object]]) -> tuple[str, ...]:
    return tuple(sorted({who for by in answers.values() for who in by}))


def _paired(answers: Mapping[str, Mapping[str, Answer]], a: str, b: str) -> list[tuple[Answer, Answer]]:
    """(a's answer, b's answer) on every item both answered."""
    return [(by[a], by[b]) for by in answers.values() if a in by and b in by]


def _pooled(answers: Mapping[str, Mapping[str, Answer]], a: str) -> list[tuple[Answer, Answer]]:
    """(a's answer, another annotator's answer) for every other annotator on every item a answered."""
    return [(by[a], answer) for by in answers.values() if a in by for who, answer in by.items() if who != a]


def _against(answers: Mapping[str, Mapping[str, Answer]], gold: Mapping[str, Answer],
             a: str) -> list[tuple[Answer, Answer]]:
    """(a's answer, the adjudicated answer) on every adjudicated item a answered."""
    return [(by[a], gold[item]) for item, by in answers.items() if a in by and item in gold]


def _fleiss(answers: Mapping[str, Mapping[str, Hashable]]) -> float | None:
    """Fleiss' kappa when every item with two or more answers has the same number of them, else None."""
    rated = [list(by.values()) for by in answers.values() if len(by) >= 2]
    if not rated or len({len(item) for item in rated}) != 1:
        return None
    return fleiss_kappa(rated)


def _label_reliability(answers: Mapping[str, Mapping[str, frozenset[str]]], label: str) -> LabelReliability:
    yes_no = binarise(answers, label)
    return LabelReliability(label, _fleiss(yes_no), krippendorff_alpha(list(by.values()) for by in yes_no.values()),
                            chosen=sum(chosen for by in yes_no.values() for chosen in by.values()))
