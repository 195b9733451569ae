"""Redact one record batch: replace every finding in the scanned fields, or drop the records holding any."""

from __future__ import annotations

import hashlib

import pyarrow as pa

from datatrainer.pii.config import RedactParams
from datatrainer.pii.detect import detect_column, scan_fields
from datatrainer.pii.surrogates import replace_spans
from datatrainer.store.schema import CONTENT_HASH, TEXT

DROPPED_SCHEMA = pa.schema([("id", pa.string()), ("reason", pa.string())])


def _replaced(table: pa.Table, name: str, values: list[str]) -> pa.Table:
    field = table.schema.field(name)
    return table.set_column(table.schema.get_field_index(name), field, pa.array(values, field.type))


def redact_batch(batch: pa.RecordBatch, params: RedactParams, key: bytes) -> tuple[pa.Table, pa.Table]:
    """The batch with findings replaced (`mask`, `hash`, `pseudonymise`), or without the records holding
    any (`drop`, each dropped id with the kinds found as its reason): (kept rows, dropped ids and reasons).
    Other columns are untouched, except `content_hash`, which follows a changed `text` (score and embedding
    caches are keyed by it: the redacted text must not reuse the original's)."""
    table = pa.Table.from_batches([batch])
    kinds: dict[int, set[str]] = {}
    for name in scan_fields(batch.schema, params):
        found = detect_column(batch.column(name), params)
        if params.mode == "drop":
            for row, spans in found.items():
                kinds.setdefault(row, set()).update(kind for _, _, kind in spans)
        elif found:
            values = batch.column(name).to_pylist()
            for row, spans in found.items():
                values[row] = replace_spans(values[row], spans, key, params.mode)
            table = _replaced(table, name, values)
            if name == TEXT and CONTENT_HASH in table.schema.names:
                hashes = table.column(CONTENT_HASH).to_pylist()
                for row in found:
                    hashes[row] = hashlib.md5(values[row].encode(), usedforsecurity=False).hexdigest()
                table = _replaced(table, CONTENT_HASH, hashes)
    if params.mode != "drop" or not kinds:
        return table, DROPPED_SCHEMA.empty_table()
    rows = sorted(kinds)
    keep = pa.array([i not in kinds for i in range(batch.num_rows)])
    dropped = pa.table({"id": pa.array(table.column("id").take(rows).to_pylist(), pa.string()),
                        "reason": ["pii: " + ", ".join(sorted(kinds[row])) for row in rows]}, schema=DROPPED_SCHEMA)
    return table.filter(keep), dropped
