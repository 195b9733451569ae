"""Span P/R/F1: exact match against seqeval on BIO tags, overlap matching against brute force."""

from __future__ import annotations

import math
from itertools import permutations

from hypothesis import given, settings
from hypothesis import strategies as st
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from seqeval.scheme import IOB2

from datatrainer.annotation.span_match import PRF, document_scores, span_scores
from datatrainer.annotation.spans import Span

TYPES = ["PER", "ORG", "LOC"]


@st.composite
def tokenised_doc(draw: st.DrawFn) -> tuple[list[str], list[tuple[int, int]]]:
    """Whitespace tokens and their character offsets in ' '.join(tokens)."""
    tokens = draw(st.lists(st.text("abcxyz", min_size=1, max_size=5), min_size=1, max_size=15))
    offsets, position = [], 0
    for token in tokens:
        offsets.append((position, position + len(token)))
        position += len(token) + 1
    return tokens, offsets


@st.composite
def token_spans(draw: st.DrawFn, offsets: list[tuple[int, int]]) -> list[Span]:
    """Non-overlapping spans on token boundaries (BIO cannot hold overlaps)."""
    spans, i = [], 0
    while i < len(offsets):
        if draw(st.booleans()):
            length = draw(st.integers(1, len(offsets) - i))
            spans.append(Span(offsets[i][0], offsets[i + length - 1][1], draw(st.sampled_from(TYPES))))
            i += length
        else:
            i += 1
    return spans


def bio(spans: list[Span], offsets: list[tuple[int, int]]) -> list[str]:
    tags = ["O"] * len(offsets)
    for span in spans:
        inside = [i for i, (start, end) in enumerate(offsets) if span.start <= start and end <= span.end]
        tags[inside[0]] = f"B-{span.label}"
        for i in inside[1:]:
            tags[i] = f"I-{span.label}"
    return tags


@st.composite
def corpus(draw: st.DrawFn) -> tuple[list[list[Span]], list[list[Span]], list[list[str]], list[list[str]]]:
    gold, predicted, gold_tags, predicted_tags = [], [], [], []
    for _ in range(draw(st.integers(1, 5))):
        _, offsets = draw(tokenised_doc())
        g, p = draw(token_spans(offsets)), draw(token_spans(offsets))
        gold.append(g)
        predicted.append(p)
        gold_tags.append(bio(g, offsets))
        predicted_tags.append(bio(p, offsets))
    return gold, predicted, gold_tags, predicted_tags


def same(ours: float | None, reference: float) -> bool:
    """seqeval reports 0 where a ratio is undefined; we report None."""
    return math.isclose(ours if ours is not None else 0.0, reference, abs_tol=1e-12)


@settings(max_examples=150, deadline=None)
@given(corpus())
def test_exact_match_agrees_with_seqeval(data: tuple[list[list[Span]], ...]) -> None:
    gold, predicted, gold_tags, predicted_tags = data
    ours = span_scores(gold, predicted, "exact")
    kwargs = {"mode": "strict", "scheme": IOB2, "zero_division": 0}
    assert same(ours.micro.precision, precision_score(gold_tags, predicted_tags, **kwargs))
    assert same(ours.micro.recall, recall_score(gold_tags, predicted_tags, **kwargs))
    if ours.micro.gold or ours.micro.predicted:
        assert same(ours.micro.f1, f1_score(gold_tags, predicted_tags, **kwargs))
    if any(gold):
        report = classification_report(gold_tags, predicted_tags, output_dict=True, **kwargs)
        for label, counts in ours.per_label.items():
            if label in report:
                assert counts.gold == report[label]["support"]
                assert same(counts.precision, report[label]["precision"])
                assert same(counts.recall, report[label]["recall"])


@settings(max_examples=150, deadline=None)
@given(corpus())
def test_self_agreement_is_perfect_and_overlap_never_below_exact(data: tuple[list[list[Span]], ...]) -> None:
    gold, predicted, _, _ = data
    itself = span_scores(gold, gold, "overlap")
    if itself.micro.gold:
        assert itself.micro.f1 == 1.0 and span_scores(gold, gold, "exact").micro.f1 == 1.0
    exact, overlap = span_scores(gold, predicted, "exact"), span_scores(gold, predicted, "overlap")
    assert (overlap.micro.f1 or 0.0) >= (exact.micro.f1 or 0.0)
    assert span_scores(predicted, gold, "overlap").micro.f1 == overlap.micro.f1  # symmetric


def brute_force_matching(gold: list[Span], predicted: list[Span]) -> int:
    """Largest one-to-one matching of overlapping same-label spans, by trying every assignment."""
    if len(predicted) > len(gold):
        gold, predicted = predicted, gold
    best = 0
    for chosen in permutations(range(len(gold)), len(predicted)):
        best = max(best, sum(1 for p, g in zip(predicted, chosen, strict=True)
                             if p.label == gold[g].label and p.overlaps(gold[g])))
    return best


ranged = st.builds(lambda start, length, label: Span(start, start + length, label),
                   st.integers(0, 20), st.integers(1, 8), st.sampled_from(["A", "B"]))


@settings(max_examples=300, deadline=None)
@given(st.lists(ranged, max_size=6, unique=True), st.lists(ranged, max_size=6, unique=True))
def test_overlap_matching_is_maximum_one_to_one(gold: list[Span], predicted: list[Span]) -> None:
    assert document_scores(gold, predicted, "overlap").micro.matched == brute_force_matching(gold, predicted)


def test_overlap_matching_does_not_let_one_span_claim_two() -> None:
    gold = [Span(0, 5, "PER"), Span(6, 11, "PER")]
    predicted = [Span(0, 11, "PER")]
    scores = document_scores(gold, predicted, "overlap")
    assert scores.micro == PRF(matched=1, predicted=1, gold=2)
    assert scores.micro.precision == 1.0 and scores.micro.recall == 0.5


def test_labels_must_agree_and_undefined_ratios_are_none() -> None:
    scores = document_scores([Span(0, 4, "PER")], [Span(0, 4, "ORG")], "overlap")
    assert scores.micro == PRF(0, 1, 1) and scores.micro.f1 == 0.0
    assert scores.per_label["PER"].precision is None and scores.per_label["ORG"].recall is None
    assert document_scores([], [], "exact").micro.f1 is None
