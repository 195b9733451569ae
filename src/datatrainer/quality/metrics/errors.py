"""Error rate: the share of records that break at least one validation rule (label errors are separate).

Rules, each a boolean per record (`error_<rule>`):
  - `schema`: a configured field (text, label, date) holds a value of a type it cannot have: text must be a
    string; a label a string, integer or boolean; a date a timestamp, date or string. Applies to every
    record with a non-null value in such a column (an absent column is a completeness problem instead).
  - `mojibake`: the text contains a typical sign of UTF-8 decoded as Latin-1/CP1252: `Â` or `Ã` followed
    by a character from U+0080..U+00BF or from the 27 CP1252 characters for bytes 0x80..0x9F (`Ã©` for `é`,
    `Â ` for a no-break space), `â` followed by one of those (`â€™` for a right single quote), or the replacement
    character U+FFFD. `mojibake_sequences` counts the matches.
  - `control_chars`: the text contains a C0 control character other than tab, line feed and carriage
    return, DEL, or a C1 control character (U+0080..U+009F). `control_chars` counts them.
  - `invalid_label`: a label set is configured and the record's label is not null and not in it.
  - `bad_date`: the date field holds a value that is not an ISO-8601 date/time (or not a date type), or a
    date later than the reference date.
  - `truncated`: the text ends with an explicit cut marker (`[...]`, `[…]`, `(...)`, `(…)`,
    `[truncated]`, `(truncated)`, `<truncated>`, case-insensitive, trailing whitespace allowed), or it ends
    open (its last non-whitespace character is a letter, digit, comma or hyphen) and its length in
    characters or in UTF-8 bytes is one of `truncation_lengths` (lengths tools cut at: 2^k and 2^k - 1 for
    k = 6..16, 100, 140, 200, 250, 280, 300, 500, 1000, 2000, 5000, 10000).
error rate = records with any rule true / records (None for an empty version); each rule's rate is given too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel

from datatrainer.quality.metrics.columns import (
    as_strings,
    column,
    is_date_type,
    is_stringlike,
    parse_timestamps,
    text_column,
)
from datatrainer.quality.metrics.config import QualityConfig
from datatrainer.quality.metrics.stats import Problem, count_true, flag, rate

RULES = ("schema", "mojibake", "control_chars", "invalid_label", "bad_date", "truncated")

# The 27 characters CP1252 puts at bytes 0x80..0x9F (five of those bytes are unassigned).
_CP1252_HIGH = "".join(bytes([b]).decode("cp1252") for b in range(0x80, 0xA0)
                       if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D))
MOJIBAKE = rf"[ÂÃâ][\x{{80}}-\x{{BF}}{_CP1252_HIGH}]|\x{{FFFD}}"
CONTROL = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x{9F}]"
OPEN_ENDING = r"[\pL\pN,\-]\s*$"
CUT_MARKER = r"(?i)(?:\[(?:\.\.\.|…|truncated)\]|\((?:\.\.\.|…|truncated)\)|<truncated>)\s*$"


def error_column(rule: str) -> str:
    return f"error_{rule}"


def _label_type(data_type: pa.DataType) -> bool:
    return is_stringlike(data_type) or bool(pa.types.is_integer(data_type) or pa.types.is_boolean(data_type))


def schema_violations(schema: pa.Schema, config: QualityConfig) -> dict[str, str]:
    """Configured fields whose stored type cannot hold them: field -> type (the same for every batch)."""
    accepts: dict[str, Callable[[pa.DataType], bool]] = {
        config.text_field: is_stringlike,
        config.label_field: _label_type,
        config.date_field: lambda t: is_stringlike(t) or is_date_type(t),
    }
    return {name: str(schema.field(name).type) for name, ok in accepts.items()
            if name in schema.names and not pa.types.is_null(schema.field(name).type)
            and not ok(schema.field(name).type)}


def truncated(texts: pa.Array, lengths: tuple[int, ...]) -> pa.Array:
    """See the module docstring: a cut marker, or an open ending at a length tools cut at."""
    if not lengths:
        return pc.fill_null(pc.match_substring_regex(texts, CUT_MARKER), False)
    suspicious = pa.array(lengths, pa.int64())
    at_limit = pc.or_(pc.is_in(pc.cast(pc.utf8_length(texts), pa.int64()), value_set=suspicious),
                      pc.is_in(pc.cast(pc.binary_length(texts), pa.int64()), value_set=suspicious))
    cut = pc.or_(pc.and_(at_limit, pc.match_substring_regex(texts, OPEN_ENDING)),
                 pc.match_substring_regex(texts, CUT_MARKER))
    return pc.fill_null(cut, False)


def record_columns(batch: pa.RecordBatch, config: QualityConfig, reference: datetime,
                   violations: Mapping[str, str]) -> dict[str, pa.Array]:
    """`error_<rule>` per rule, the match counts behind two of them, and `has_error`."""
    n = batch.num_rows
    false = pa.array(np.zeros(n, dtype=bool))
    text = text_column(batch, config.text_field)
    mojibake = pc.fill_null(pc.count_substring_regex(text, MOJIBAKE), 0)
    controls = pc.fill_null(pc.count_substring_regex(text, CONTROL), 0)
    schema = false
    for name in violations:
        schema = pc.or_(schema, pc.is_valid(column(batch, name)))
    invalid_label = false
    labels = column(batch, config.label_field)
    if config.labels is not None and config.label_field not in violations:
        valid = pa.array(config.labels, pa.string())
        values = as_strings(labels)
        invalid_label = pc.and_(pc.is_valid(values), pc.invert(pc.is_in(values, value_set=valid)))
    bad_date = false
    if config.date_field not in violations:
        timestamps, unparseable = parse_timestamps(column(batch, config.date_field))
        future = pc.fill_null(pc.greater(timestamps, pa.scalar(reference, timestamps.type)), False)
        bad_date = pc.or_(unparseable, future)
    rules = {
        "schema": schema,
        "mojibake": pc.greater(mojibake, 0),
        "control_chars": pc.greater(controls, 0),
        "invalid_label": invalid_label,
        "bad_date": bad_date,
        "truncated": truncated(text, config.truncation_lengths),
    }
    any_error = false
    for value in rules.values():
        any_error = pc.or_(any_error, value)
    return ({error_column(rule): value for rule, value in rules.items()}
            | {"mojibake_sequences": pc.cast(mojibake, pa.int32()), "control_chars": pc.cast(controls, pa.int32()),
               "has_error": any_error})


class RuleCount(BaseModel):
    count: int
    rate: float | None


class ErrorSummary(BaseModel):
    rate: float | None
    records: int
    records_with_errors: int
    rules: dict[str, RuleCount]
    schema_violations: dict[str, str]


def summarize(records: pa.Table, violations: Mapping[str, str]) -> ErrorSummary:
    n = records.num_rows
    rules = {}
    for rule in RULES:
        count = count_true(records[error_column(rule)])
        rules[rule] = RuleCount(count=count, rate=rate(count, n))
    with_errors = count_true(records["has_error"])
    return ErrorSummary(rate=rate(with_errors, n), records=n, records_with_errors=with_errors, rules=rules,
                        schema_violations=dict(violations))


def _python_pattern(pattern: str) -> str:
    """Python's `re` reads these RE2 patterns the same way once `\\x{..}` becomes `\\u....`."""
    return re.sub(r"\\x\{([0-9A-Fa-f]+)\}", lambda m: f"\\u{int(m[1], 16):04x}", pattern)


_MOJIBAKE_PY = re.compile(_python_pattern(MOJIBAKE))
_CONTROL_PY = re.compile(_python_pattern(CONTROL))


def _shown(found: list[str]) -> str:
    return ", ".join(repr(item) for item in dict.fromkeys(found)) or "-"


def problems(config: QualityConfig, violations: Mapping[str, str]) -> list[Problem]:
    def explain_schema(row: Mapping[str, Any]) -> str:
        return "; ".join(f"'{name}' is stored as {kind}" for name, kind in violations.items())

    def explain_mojibake(row: Mapping[str, Any]) -> str:
        found = _MOJIBAKE_PY.findall(row.get("text") or "")[:5]
        return f"{row['mojibake_sequences']} mojibake sequence(s): {_shown(found)}"

    def explain_controls(row: Mapping[str, Any]) -> str:
        found = _CONTROL_PY.findall(row.get("text") or "")[:5]
        return f"{row['control_chars']} control character(s): {_shown(found)}"

    def explain_label(row: Mapping[str, Any]) -> str:
        return f"label {row.get('label')!r} is not one of {', '.join(config.labels or ())}"

    def explain_date(row: Mapping[str, Any]) -> str:
        return f"'{config.date_field}' = {row.get(config.date_field)!s} is unparseable or after the reference date"

    def explain_truncated(row: Mapping[str, Any]) -> str:
        text = row.get("text") or ""
        return f"ends {text[-40:]!r} at {len(text)} characters ({len(text.encode())} bytes)"

    titles = {
        "schema": ("Field of the wrong type", None, explain_schema),
        "mojibake": ("Mojibake (UTF-8 read as Latin-1/CP1252)", "mojibake_sequences", explain_mojibake),
        "control_chars": ("Control characters", "control_chars", explain_controls),
        "invalid_label": ("Label not in the label set", None, explain_label),
        "bad_date": ("Unparseable or future date", None, explain_date),
        "truncated": ("Truncated text", None, explain_truncated),
    }
    return [Problem(name=rule, metric="errors", title=title, mask=flag(error_column(rule)), severity=severity,
                    explain=explain)
            for rule, (title, severity, explain) in titles.items()]
