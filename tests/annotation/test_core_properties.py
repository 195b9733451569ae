"""Property tests of the pure annotation rules against brute-force references (no database)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datatrainer.annotation.acceptance import outcomes
from datatrainer.annotation.consensus import consensus
from datatrainer.annotation.errors import AnnotationValidationError
from datatrainer.annotation.types import LabelSchema
from datatrainer.annotation.validation import validate_result

LABELS = ("PER", "ORG", "LOC")
TEXT = "x" * 20
raw_span = st.fixed_dictionaries({"start": st.integers(-2, 22), "end": st.integers(-2, 22),
                                  "label": st.sampled_from((*LABELS, "MISC"))})
good_span = st.tuples(st.integers(0, 19), st.integers(1, 10), st.sampled_from(LABELS)).map(
    lambda t: {"start": t[0], "end": min(20, t[0] + t[1]), "label": t[2]})


def _brute_valid(spans: list[dict[str, Any]], allow_overlap: bool) -> bool:
    if any(not 0 <= s["start"] < s["end"] <= len(TEXT) or s["label"] not in LABELS for s in spans):
        return False
    keys = [(s["start"], s["end"], s["label"]) for s in spans]
    if len(set(keys)) != len(keys):
        return False
    if allow_overlap:
        return True
    return not any(a["start"] < b["end"] and b["start"] < a["end"]
                   for i, a in enumerate(spans) for b in spans[i + 1:])


@settings(max_examples=300, deadline=None)
@given(st.lists(raw_span, max_size=5), st.booleans())
def test_ner_validation_matches_brute_force(spans: list[dict[str, Any]], allow_overlap: bool) -> None:
    schema = LabelSchema(LABELS, allow_overlap=allow_overlap)
    expected = _brute_valid(spans, allow_overlap)
    try:
        clean = validate_result("ner", schema, {"text": TEXT}, {"spans": spans}, "t")
    except AnnotationValidationError as error:
        assert not expected, str(error)
        assert str(error).startswith("t: result.spans") and "\n" not in str(error)
        return
    assert expected
    key = [(s["start"], s["end"], s["label"]) for s in clean["spans"]]
    assert key == sorted((s["start"], s["end"], s["label"]) for s in spans)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(good_span, max_size=4), min_size=1, max_size=5))
def test_ner_consensus_keeps_exactly_the_majority_spans(votes: list[list[dict[str, Any]]]) -> None:
    results = [{"spans": v} for v in votes]
    kept = consensus("ner", LabelSchema(LABELS, allow_overlap=True), results)
    assert kept is not None
    candidates = {(s["start"], s["end"], s["label"]) for v in votes for s in v}
    expected = sorted(c for c in candidates
                      if sum(c in {(s["start"], s["end"], s["label"]) for s in v} for v in votes) * 2 > len(votes))
    assert [(s["start"], s["end"], s["label"]) for s in kept["spans"]] == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(LABELS), min_size=1, max_size=7))
def test_single_label_consensus_is_the_mode_with_schema_order_ties(choices: list[str]) -> None:
    result = consensus("classification", LabelSchema(LABELS), [{"labels": [c]} for c in choices])
    assert result is not None
    top = max(choices.count(label) for label in LABELS)
    assert result["labels"] == [next(label for label in LABELS if choices.count(label) == top)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sets(st.sampled_from(LABELS)), min_size=1, max_size=6))
def test_multi_label_consensus_is_the_strict_majority(choices: list[set[str]]) -> None:
    result = consensus("classification", LabelSchema(LABELS, multi_label=True),
                       [{"labels": sorted(c)} for c in choices])
    assert result is not None
    assert result["labels"] == [label for label in LABELS if 2 * sum(label in c for c in choices) > len(choices)]


@settings(max_examples=200, deadline=None)
@given(st.lists(good_span, max_size=5, unique_by=lambda s: (s["start"], s["end"], s["label"])),
       st.lists(good_span, max_size=5, unique_by=lambda s: (s["start"], s["end"], s["label"])))
def test_acceptance_outcomes_partition_the_suggestion(suggested: list[dict[str, Any]],
                                                      annotated: list[dict[str, Any]]) -> None:
    schema = LabelSchema(LABELS, allow_overlap=True)
    found = outcomes("ner", schema, {"spans": suggested}, {"spans": annotated})
    assert [label for label, _ in found] == [s["label"] for s in suggested]
    for s, (_, outcome) in zip(suggested, found, strict=True):
        if s in annotated:
            assert outcome == "accepted"
        elif any(a["start"] < s["end"] and s["start"] < a["end"] for a in annotated):
            assert outcome == "changed"
        else:
            assert outcome == "deleted"
    assert all(o == "accepted" for _, o in outcomes("ner", schema, {"spans": suggested}, {"spans": suggested}))


@pytest.mark.parametrize(("task_type", "result", "message"), [
    ("classification", {"labels": ["PER", "PER"]}, "given twice"),
    ("classification", {"labels": []}, "exactly one label"),
    ("preference", {"choice": "a", "reason": 3}, "result.reason"),
    ("correction", {"text": "  "}, "non-empty"),
    ("correction", {"text": "ok", "extra": 1}, "result.extra: unexpected field"),
    ("ner", {"spans": [{"start": True, "end": 3, "label": "PER"}]}, "integers"),
])
def test_other_invalid_results(task_type: str, result: dict[str, Any], message: str) -> None:
    with pytest.raises(AnnotationValidationError, match=message):
        validate_result(task_type, LabelSchema(LABELS), {"text": TEXT}, result, "task 1")
