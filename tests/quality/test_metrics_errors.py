"""Validation rules against plain-Python references, and the error rate of a small version."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from datatrainer.quality.metrics import QualityConfig, measure
from datatrainer.quality.metrics.errors import record_columns, schema_violations
from datatrainer.workspace import Workspace
from tests.quality.quality_helpers import make_version

REFERENCE = datetime(2026, 1, 1, tzinfo=UTC)
CP1252_HIGH = {bytes([b]).decode("cp1252") for b in range(0x80, 0xA0) if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)}
SECOND = {chr(c) for c in range(0x80, 0xC0)} | CP1252_HIGH
MARKERS = ("[...]", "[…]", "(...)", "(…)", "[truncated]", "(truncated)", "<truncated>")
RE2_SPACE = " \t\n\f\r"


def reference_mojibake(text: str) -> int:
    count, i = 0, 0
    while i < len(text):
        if text[i] == "\ufffd":
            count += 1
        elif text[i] in "ÂÃâ" and i + 1 < len(text) and text[i + 1] in SECOND:
            count += 1
            i += 1
        i += 1
    return count


def reference_controls(text: str) -> int:
    return sum(1 for ch in text if (ord(ch) < 32 and ch not in "\t\n\r") or 0x7F <= ord(ch) <= 0x9F)


def reference_truncated(text: str, lengths: tuple[int, ...]) -> bool:
    stripped = text.rstrip(RE2_SPACE)
    if stripped.lower().endswith(MARKERS):
        return True
    last = stripped[-1:]
    open_end = last != "" and (unicodedata.category(last)[0] in "LN" or last in ",-")
    return open_end and (len(text) in lengths or len(text.encode()) in lengths)


_ALPHABET = st.sampled_from(list("ab .,-!?[]()<>ÂÃâ©€™\x80\xa0\x85\x00\x1f\t\n\r\x7f\ufffd…é") + ["truncated"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(_ALPHABET, max_size=10).map("".join), min_size=1, max_size=20))
def test_text_rules_match_reference(texts: list[str]) -> None:
    lengths = (3, 5, 8, 13)
    config = QualityConfig(truncation_lengths=lengths)
    batch = pa.RecordBatch.from_pydict({"text": pa.array(texts, pa.string())})
    columns = record_columns(batch, config, REFERENCE, {})
    assert columns["mojibake_sequences"].to_pylist() == [reference_mojibake(t) for t in texts]
    assert columns["control_chars"].to_pylist() == [reference_controls(t) for t in texts]
    assert columns["error_truncated"].to_pylist() == [reference_truncated(t, lengths) for t in texts]


def test_examples_of_each_text_rule() -> None:
    texts = ["cafÃ© au lait", "it\u00e2\u20ac\u2122s", "bell\x07", "ok\tfine\n", "x" * 511 + "y", "x" * 510 + ".",
             "read on [...]", "plain sentence.", None]
    batch = pa.RecordBatch.from_pydict({"text": pa.array(texts, pa.string())})
    columns = record_columns(batch, QualityConfig(), REFERENCE, {})
    assert columns["error_mojibake"].to_pylist() == [True, True] + [False] * 7
    assert columns["error_control_chars"].to_pylist() == [False, False, True] + [False] * 6
    assert columns["error_truncated"].to_pylist() == [False] * 4 + [True, False, True, False, False]


def test_label_date_and_schema_rules() -> None:
    config = QualityConfig(labels=("neg", "pos"))
    batch = pa.RecordBatch.from_pydict({
        "text": ["a.", "b.", "c.", "d.", "e."],
        "label": ["pos", "POS", None, "neg", "other"],
        "collected_at": ["2024-01-05", "2024-01-05T10:00:00+02:00", "05/01/2024", None, "2027-01-01"],
    })
    columns = record_columns(batch, config, REFERENCE, {})
    assert columns["error_invalid_label"].to_pylist() == [False, True, False, False, True]
    assert columns["error_bad_date"].to_pylist() == [False, False, True, False, True]
    assert columns["error_schema"].to_pylist() == [False] * 5
    assert columns["has_error"].to_pylist() == [False, True, True, False, True]

    typed = pa.schema([("text", pa.string()), ("label", pa.list_(pa.string())), ("collected_at", pa.float64())])
    violations = schema_violations(typed, config)
    assert violations == {"label": "list<item: string>", "collected_at": "double"}
    bad = pa.RecordBatch.from_pydict({"text": ["a.", "b."], "label": [["x"], None], "collected_at": [None, 1.5]},
                                     schema=typed)
    columns = record_columns(bad, config, REFERENCE, violations)
    assert columns["error_schema"].to_pylist() == [True, True]
    assert columns["error_invalid_label"].to_pylist() == [False, False]


def test_integer_labels_and_date_types() -> None:
    config = QualityConfig(labels=("0", "1"))
    batch = pa.RecordBatch.from_pydict({
        "text": ["a.", "b.", "c."], "label": pa.array([0, 1, 2]),
        "collected_at": pa.array([date(2025, 1, 1), date(2027, 1, 1), None]),
    })
    columns = record_columns(batch, config, REFERENCE, schema_violations(batch.schema, config))
    assert columns["error_invalid_label"].to_pylist() == [False, False, True]
    assert columns["error_bad_date"].to_pylist() == [False, True, False]


def test_error_rate_of_a_version(sqlite_workspace: Workspace) -> None:
    records = [
        {"id": "1", "text": "Fine text.", "label": "pos", "collected_at": "2025-01-01"},
        {"id": "2", "text": "naÃ¯ve text.", "label": "pos", "collected_at": "2025-01-01"},
        {"id": "3", "text": "Fine text.", "label": "maybe", "collected_at": "yesterday"},
        {"id": "4", "text": "Fine text.", "label": "neg", "collected_at": None},
    ]
    version = make_version(sqlite_workspace, records)
    config = QualityConfig(labels=("neg", "pos"), reference_date=REFERENCE, metrics=("errors",))
    result = measure(version, config)
    errors = result.summary.errors
    assert errors is not None
    assert (errors.rate, errors.records_with_errors) == (0.5, 2)
    assert {rule: count.count for rule, count in errors.rules.items()} == {
        "schema": 0, "mojibake": 1, "control_chars": 0, "invalid_label": 1, "bad_date": 1, "truncated": 0}
    assert result.records["reasons"].to_pylist() == [[], ["mojibake"], ["invalid_label", "bad_date"], []]
