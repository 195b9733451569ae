"""Agreement reports: each number recomputed from its definition with the reference libraries."""

from __future__ import annotations

import json
from dataclasses import asdict

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from datatrainer.annotation.agreement_report import (
    ADJUDICATED,
    OTHERS,
    classification_agreement,
    group_by_item,
    span_agreement,
)
from datatrainer.annotation.spans import AnnotatedDoc, Span

# Three annotators, one missing item 5: Fleiss is not defined (uneven counts), alpha copes with the gap.
RATINGS = {
    "1": {"ann": ["pos"], "bob": ["pos"], "cy": ["pos"]},
    "2": {"ann": ["neg"], "bob": ["neg"], "cy": ["pos"]},
    "3": {"ann": ["neu"], "bob": ["neg"], "cy": ["neu"]},
    "4": {"ann": ["pos"], "bob": ["pos"], "cy": ["neg"]},
    "5": {"ann": ["neg"], "bob": ["neg"]},
    "6": {"ann": ["neu"], "bob": ["neu"], "cy": ["neu"]},
}
ADJUDICATED_LABELS = {"1": ["pos"], "2": ["neg"], "3": ["neu"], "4": ["pos"]}


def test_pairs_and_pooled_kappa_match_sklearn() -> None:
    report = classification_agreement(RATINGS, ADJUDICATED_LABELS)
    assert report.annotators == ("ann", "bob", "cy") and report.items == 6
    ann_cy = next(pair for pair in report.pairs if (pair.annotator, pair.other) == ("ann", "cy"))
    shared = [item for item in RATINGS if "cy" in RATINGS[item]]
    assert ann_cy.items == 5
    assert ann_cy.kappa == pytest.approx(cohen_kappa_score([RATINGS[i]["ann"][0] for i in shared],
                                                           [RATINGS[i]["cy"][0] for i in shared]))
    cy_others = next(result for result in report.vs_others if result.annotator == "cy")
    mine = [RATINGS[i]["cy"][0] for i in shared for _ in ("ann", "bob")]
    theirs = [RATINGS[i][other][0] for i in shared for other in ("ann", "bob")]
    assert (cy_others.other, cy_others.items) == (OTHERS, 10)
    assert cy_others.kappa == pytest.approx(cohen_kappa_score(mine, theirs))
    bob_gold = next(result for result in report.vs_adjudicated if result.annotator == "bob")
    assert bob_gold.other == ADJUDICATED and bob_gold.items == 4
    assert bob_gold.kappa == pytest.approx(cohen_kappa_score(["pos", "neg", "neg", "pos"],
                                                             ["pos", "neg", "neu", "pos"]))


def test_overall_and_per_label_reliability_match_krippendorff() -> None:
    report = classification_agreement(RATINGS, labels=["pos", "neg", "neu", "unused"])
    assert report.fleiss_kappa is None  # item 5 has two annotators, the others three
    codes = {"pos": 0, "neg": 1, "neu": 2}
    data = np.array([[codes[RATINGS[i][who][0]] if who in RATINGS[i] else np.nan for i in RATINGS]
                     for who in ("ann", "bob", "cy")])
    assert report.krippendorff_alpha == pytest.approx(krippendorff.alpha(reliability_data=data,
                                                                         level_of_measurement="nominal"))
    by_label = {row.label: row for row in report.per_label}
    assert list(by_label) == ["neg", "neu", "pos", "unused"]
    neg = np.where(np.isnan(data), np.nan, (data == 1).astype(float))
    assert by_label["neg"].krippendorff_alpha == pytest.approx(
        krippendorff.alpha(reliability_data=neg, level_of_measurement="nominal"))
    assert by_label["neg"].chosen == 6
    assert by_label["unused"].krippendorff_alpha is None and by_label["unused"].chosen == 0
    json.dumps(asdict(report))  # the CLI and the server send it as JSON


def test_fleiss_reported_when_every_item_has_the_same_count() -> None:
    even = {item: by for item, by in RATINGS.items() if len(by) == 3}
    report = classification_agreement(even)
    assert report.fleiss_kappa is not None and report.vs_adjudicated == ()


def test_multi_label_answers_compare_as_sets_and_per_label() -> None:
    ratings: dict[str, dict[str, list[str]]] = {
        "a": {"x": ["toxic", "spam"], "y": ["spam", "toxic"]}, "b": {"x": ["spam"], "y": []},
        "c": {"x": [], "y": []}, "d": {"x": ["toxic"], "y": ["toxic"]}}
    report = classification_agreement(ratings)
    pair = report.pairs[0]
    # Sets {toxic, spam} given in different orders are the same answer; item b differs.
    assert pair.kappa == pytest.approx(cohen_kappa_score(["ts", "s", "-", "t"], ["ts", "-", "-", "t"]))
    spam = next(row for row in report.per_label if row.label == "spam")
    assert spam.krippendorff_alpha == pytest.approx(krippendorff.alpha(
        reliability_data=[[1, 1, 0, 0], [1, 0, 0, 0]], level_of_measurement="nominal"))


SPANS = {
    "d1": {"ann": [Span(0, 5, "PER"), Span(10, 15, "ORG")], "bob": [Span(0, 5, "PER"), Span(9, 15, "ORG")]},
    "d2": {"ann": [Span(0, 3, "LOC")], "bob": [], "cy": [Span(0, 3, "LOC")]},
}


def test_span_report_pairs_others_and_adjudicated() -> None:
    report = span_agreement(SPANS, adjudicated={"d1": [Span(0, 5, "PER"), Span(10, 15, "ORG")]})
    ann_bob = next(p for p in report.pairs if (p.annotator, p.other) == ("ann", "bob"))
    assert ann_bob.items == 2
    assert (ann_bob.exact.micro.matched, ann_bob.exact.micro.predicted, ann_bob.exact.micro.gold) == (1, 3, 2)
    assert (ann_bob.overlap.micro.matched, ann_bob.overlap.micro.f1) == (2, 0.8)
    assert ann_bob.exact.per_label["ORG"].f1 == 0.0 and ann_bob.overlap.per_label["ORG"].f1 == 1.0
    bob_others = next(r for r in report.vs_others if r.annotator == "bob")
    # bob vs ann on d1 and d2, bob vs cy on d2: bob misses LOC twice.
    assert (bob_others.items, bob_others.overlap.micro.gold, bob_others.overlap.micro.matched) == (3, 4, 2)
    assert bob_others.overlap.per_label["LOC"].recall == 0.0
    cy_gold = next(r for r in report.vs_adjudicated if r.annotator == "cy")
    assert cy_gold.items == 0 and cy_gold.exact.micro.f1 is None
    as_json = json.loads(json.dumps(asdict(report)))
    assert as_json["pairs"][0]["overlap"]["micro"]["f1"] == 0.8


def test_group_by_item_needs_distinct_annotators() -> None:
    docs = [AnnotatedDoc("1", "text", labels=("a",), meta={"annotator": "ann"}),
            AnnotatedDoc("1", "text", labels=("b",), meta={"annotator": "bob"})]
    grouped = group_by_item(docs)
    assert grouped["1"]["bob"].labels == ("b",)
    with pytest.raises(ValueError, match="annotated twice"):
        group_by_item([*docs, docs[0]])
    with pytest.raises(ValueError, match="no meta"):
        group_by_item([AnnotatedDoc("2", "text")])
