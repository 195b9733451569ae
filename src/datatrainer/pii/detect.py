"""Find personal data in a record batch: the structured kinds by regex + validators, names by NER.

Work per batch, not per record: pyarrow.compute picks the rows that can hold a candidate (RE2 over the
whole column), their texts are joined with NUL and searched in one pass of the combined pattern, and match
offsets map back to rows with one `searchsorted`. Names run through spaCy only for rows with words (two
letters in a row). A name overlapping a structured finding (an email's user part read as a person) is
dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datatrainer.errors import DatatrainerError
from datatrainer.pii.config import NAME_TYPES, PiiConfig
from datatrainer.pii.ner import NAME_PREFILTER, name_spans
from datatrainer.pii.patterns import compiled, search
from datatrainer.store.schema import CONTENT_HASH, ID

SEPARATOR = "\x00"
FINDINGS_SCHEMA = pa.schema([("row", pa.int64()), ("field", pa.string()), ("type", pa.string()),
                             ("start", pa.int64()), ("end", pa.int64())])
Span = tuple[int, int, str]


def scan_fields(schema: pa.Schema, config: PiiConfig) -> list[str]:
    """The fields to scan: the configured ones (each must be a string column), else every string column
    but `id` and `content_hash`."""
    if config.fields is None:
        return [f.name for f in schema if f.name not in (ID, CONTENT_HASH) and (pa.types.is_string(f.type) or
                                                                             pa.types.is_large_string(f.type))]
    for name in config.fields:
        if name not in schema.names:
            raise DatatrainerError(f"no field {name!r} to scan (fields: {', '.join(schema.names)})")
        kind = schema.field(name).type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            raise DatatrainerError(f"field {name!r} holds {kind}, not text: it cannot be scanned for PII")
    return list(config.fields)


def _selected(column: pa.Array, pattern: str | None) -> np.ndarray:
    """Indices of the non-null rows of `column` that match the RE2 `pattern` (all of them when None)."""
    matches = pc.is_valid(column) if pattern is None else pc.match_substring_regex(column, pattern)
    mask = pc.fill_null(matches, False)
    return np.flatnonzero(mask.to_numpy(zero_copy_only=False))


def structured_spans(texts: Sequence[str], config: PiiConfig) -> list[list[Span]]:
    """The validated structured findings of each text, from one search over all of them."""
    found: list[list[Span]] = [[] for _ in texts]
    if not texts:
        return found
    joined = SEPARATOR.join(texts)
    lengths = np.fromiter((len(t) + 1 for t in texts), np.int64, len(texts))
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    hits = search(compiled(config), joined)
    if hits:
        rows = np.searchsorted(starts, np.fromiter((h[0] for h in hits), np.int64, len(hits)), side="right") - 1
        for (start, end, kind), row in zip(hits, rows.tolist(), strict=True):
            offset = int(starts[row])
            found[row].append((start - offset, end - offset, kind))
    return found


def _without_overlaps(first: list[Span], names: list[Span]) -> list[Span]:
    kept = [n for n in names if not any(s < n[1] and n[0] < e for s, e, _ in first)]
    return sorted(first + kept)


def detect_column(column: pa.Array | pa.ChunkedArray, config: PiiConfig) -> dict[int, list[Span]]:
    """Findings per row index of one text column (rows without any are absent)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    by_row: dict[int, list[Span]] = {}
    patterns = compiled(config)
    if patterns.combined is not None:
        rows = _selected(column, patterns.prefilter)
        texts = column.take(pa.array(rows, pa.int64())).to_pylist()
        for row, spans in zip(rows.tolist(), structured_spans(texts, config), strict=True):
            if spans:
                by_row[row] = spans
    wanted = NAME_TYPES.intersection(config.types)
    if wanted:
        rows = _selected(column, NAME_PREFILTER)
        texts = column.take(pa.array(rows, pa.int64())).to_pylist()
        for row, spans in zip(rows.tolist(), name_spans(texts, frozenset(wanted)), strict=True):
            if spans:
                by_row[row] = _without_overlaps(by_row.get(row, []), spans)
    return by_row


def detect_batch(batch: pa.RecordBatch, config: PiiConfig) -> pa.Table:
    """Every finding of the batch as rows (row index, field, type, start, end); offsets in characters."""
    rows: list[int] = []
    fields: list[str] = []
    types: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for field in scan_fields(batch.schema, config):
        for row, spans in detect_column(batch.column(field), config).items():
            for start, end, kind in spans:
                rows.append(row)
                fields.append(field)
                types.append(kind)
                starts.append(start)
                ends.append(end)
    return pa.table([rows, fields, types, starts, ends], schema=FINDINGS_SCHEMA)
