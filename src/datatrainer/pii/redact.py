"""Redact one record batch: replace every finding in the scanned fields, or drop the records holding any."""

from __future__ import annotations

import pyarrow as pa

from datatrainer.pii.config import RedactParams
from datatrainer.pii.detect import detect_column, scan_fields
from datatrainer.pii.surrogates import replace_spans

DROPPED_SCHEMA = pa.schema([("id", pa.string()), ("reason", pa.string())])


def redact_batch(batch: pa.RecordBatch, params: RedactParams, key: bytes) -> tuple[pa.Table, pa.Table]:
    """The batch with findings replaced (`mask`, `hash`, `pseudonymise`), or without the records holding
    any (`drop`, each dropped id with the kinds found as its reason): (kept rows, dropped ids and reasons).
    Other columns are untouched."""
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
            index = table.schema.get_field_index(name)
            table = table.set_column(index, table.schema.field(name), pa.array(values, table.schema.field(name).type))
    if params.mode != "drop" or not kinds:
        return table, DROPPED_SCHEMA.empty_table()
    rows = sorted(kinds)
    keep = pa.array([i not in kinds for i in range(batch.num_rows)])
    dropped = pa.table({"id": pa.array(table.column("id").take(rows).to_pylist(), pa.string()),
                        "reason": ["pii: " + ", ".join(sorted(kinds[row])) for row in rows]}, schema=DROPPED_SCHEMA)
    return table.filter(keep), dropped
