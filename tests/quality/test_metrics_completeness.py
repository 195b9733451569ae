"""Completeness against a plain-Python reference of the definition."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from datatrainer.quality.metrics import QualityConfig, measure
from datatrainer.quality.metrics.completeness import placeholder_regex, record_columns, status_column
from datatrainer.workspace import Workspace
from tests.quality.quality_helpers import make_version

CONFIG = QualityConfig(required_fields=("text", "label", "source"), metrics=("completeness",))
_PLACEHOLDERS = [re.compile(p, re.IGNORECASE | re.DOTALL) for p in CONFIG.placeholder_patterns]


def reference_status(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "missing"
    if isinstance(value, str):
        trimmed = value.strip()
        if trimmed == "":
            return "blank"
        if any(p.fullmatch(trimmed) for p in _PLACEHOLDERS):
            return "placeholder"
    return None


# Words that are, contain or resemble placeholders, and whitespace around them.
_VALUES = st.one_of(
    st.none(),
    st.text(alphabet=st.sampled_from(list("NnAa/ -?.xX\t\nlorem ipsu")), max_size=12),
    st.sampled_from(["N/A", " n/a ", "None", "NULL", "nan", "TBD", "-", "---", "???", "...", "xxx", "xx",
                     "Lorem ipsum dolor\nsit", "lorem ipsumdolor", "unknown", "fine", "N/A yes", "\u3000"]),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_VALUES, _VALUES, _VALUES), min_size=1, max_size=30))
def test_status_matches_reference(rows: list[tuple[Any, Any, Any]]) -> None:
    batch = pa.RecordBatch.from_pydict({
        "text": pa.array([r[0] for r in rows], pa.string()),
        "label": pa.array([r[1] for r in rows], pa.string()),
        "source": pa.array([r[2] for r in rows], pa.string()),
    })
    columns = record_columns(batch, CONFIG)
    for index, field in enumerate(("text", "label", "source")):
        assert columns[status_column(field)].to_pylist() == [reference_status(r[index]) for r in rows]
    expected_complete = [all(reference_status(v) is None for v in r) for r in rows]
    assert columns["complete"].to_pylist() == expected_complete


def test_non_string_types_and_absent_fields() -> None:
    config = QualityConfig(required_fields=("score", "tags", "meta", "absent"), metrics=("completeness",))
    batch = pa.RecordBatch.from_pydict({
        "score": pa.array([1.0, float("nan"), None, 0.0]),
        "tags": pa.array([["a"], [], None, ["b"]]),
        "meta": pa.array([{"k": 1}, {"k": None}, None, {"k": 2}]),
    })
    columns = record_columns(batch, config)
    assert columns[status_column("score")].to_pylist() == [None, "missing", "missing", None]
    assert columns[status_column("tags")].to_pylist() == [None, "blank", "missing", None]
    assert columns[status_column("meta")].to_pylist() == [None, None, "missing", None]
    assert columns[status_column("absent")].to_pylist() == ["missing"] * 4
    assert columns["complete"].to_pylist() == [False] * 4


def test_no_placeholder_patterns() -> None:
    config = QualityConfig(placeholder_patterns=(), metrics=("completeness",))
    assert placeholder_regex(config) is None
    batch = pa.RecordBatch.from_pydict({"text": ["N/A", " ", "fine"]})
    assert record_columns(batch, config)[status_column("text")].to_pylist() == [None, "blank", None]


def test_dataset_rate_and_reasons(sqlite_workspace: Workspace) -> None:
    records = [
        {"id": "a", "text": "a real sentence.", "label": "pos", "source": "web"},
        {"id": "b", "text": "N/A", "label": "pos", "source": "web"},
        {"id": "c", "text": "another sentence.", "label": None, "source": "  "},
        {"id": "d", "text": "more words here.", "label": "neg", "source": "web"},
    ]
    version = make_version(sqlite_workspace, records)
    result = measure(version, CONFIG)
    summary = result.summary.completeness
    assert summary is not None
    assert (summary.rate, summary.complete, summary.records) == (0.5, 2, 4)
    by_field = {f.field: f for f in summary.fields}
    assert (by_field["text"].placeholder, by_field["label"].missing, by_field["source"].blank) == (1, 1, 1)
    assert by_field["label"].present_rate == 0.75
    assert result.records["id"].to_pylist() == ["a", "b", "c", "d"]
    assert result.records["reasons"].to_pylist() == [
        [], ["incomplete:text"], ["incomplete:label", "incomplete:source"], []]

