"""Completeness rate: the share of records whose required fields are all present and non-trivial.

Definition. For each required field `f` (config `required_fields`, default `text`) a record's value is
  - `missing` when the column does not exist, the value is null, or it is a floating-point NaN;
  - `blank` when it is a string that is empty or only Unicode whitespace, or an empty list/map;
  - `placeholder` when it is a string whose whole trimmed value matches one of `placeholder_patterns`
    (RE2, case-insensitive, e.g. `N/A`, `none`, `-`, `???`, `lorem ipsum ...`);
  - present otherwise (numbers, booleans, timestamps and structs are present when not null).
A record is complete when every required field is present. completeness rate = complete records / records
(None for an empty version). Per field, the report gives the share present and the counts of each status.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel

from datatrainer.quality.metrics.columns import column, is_stringlike
from datatrainer.quality.metrics.config import QualityConfig
from datatrainer.quality.metrics.stats import Problem, count_true, rate

STATUSES = ("missing", "blank", "placeholder")


def status_column(field: str) -> str:
    return f"incomplete_{field}"


def placeholder_regex(config: QualityConfig) -> str | None:
    """One anchored alternation, so each value is scanned once whatever the number of patterns."""
    if not config.placeholder_patterns:
        return None
    return "(?s)^(?:" + "|".join(f"(?:{p})" for p in config.placeholder_patterns) + ")$"


def field_status(values: pa.Array, placeholders: str | None) -> pa.Array:
    """Per value: null when present, else "missing", "blank" or "placeholder" (see the module docstring)."""
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    missing = pc.is_null(values, nan_is_null=pa.types.is_floating(values.type))
    blank = placeholder = pa.array(np.zeros(len(values), dtype=bool))
    if is_stringlike(values.type):
        trimmed = pc.utf8_trim_whitespace(values)
        blank = pc.equal(trimmed, "")
        if placeholders is not None:
            placeholder = pc.match_substring_regex(trimmed, placeholders, ignore_case=True)
    elif pa.types.is_list(values.type) or pa.types.is_large_list(values.type) or pa.types.is_map(values.type):
        blank = pc.equal(pc.list_value_length(values), 0)
    status = pa.nulls(len(values), pa.string())
    for name, flag in (("placeholder", placeholder), ("blank", blank), ("missing", missing)):
        status = pc.if_else(pc.fill_null(flag, False), pa.scalar(name), status)
    return status


def record_columns(batch: pa.RecordBatch, config: QualityConfig) -> dict[str, pa.Array]:
    """`incomplete_<field>` (the status, null when present) per required field, and `complete`."""
    regex = placeholder_regex(config)
    columns = {status_column(f): field_status(column(batch, f), regex) for f in config.required_fields}
    complete = pa.array(np.ones(batch.num_rows, dtype=bool))
    for status in columns.values():
        complete = pc.and_(complete, pc.is_null(status))
    return columns | {"complete": complete}


class FieldCompleteness(BaseModel):
    field: str
    present_rate: float | None
    missing: int
    blank: int
    placeholder: int


class CompletenessSummary(BaseModel):
    rate: float | None
    records: int
    complete: int
    fields: list[FieldCompleteness]


def summarize(records: pa.Table, config: QualityConfig) -> CompletenessSummary:
    n = records.num_rows
    fields = []
    for field in config.required_fields:
        status = records[status_column(field)]
        counts = {s: count_true(pc.equal(status, s)) for s in STATUSES}
        fields.append(FieldCompleteness(field=field, present_rate=rate(n - sum(counts.values()), n), **counts))
    complete = count_true(records["complete"])
    return CompletenessSummary(rate=rate(complete, n), records=n, complete=complete, fields=fields)


def _problem(field: str) -> Problem:
    column_name = status_column(field)
    return Problem(name=f"incomplete:{field}", metric="completeness", title=f"Required field '{field}' not present",
                   mask=lambda records: pc.is_valid(records[column_name]),
                   explain=lambda row: f"'{field}' is {row[column_name]}")


def problems(config: QualityConfig) -> list[Problem]:
    """One problem per required field; an example says which status the value had."""
    return [_problem(field) for field in config.required_fields]
