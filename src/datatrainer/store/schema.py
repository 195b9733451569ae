"""The canonical record schema and how differing chunk schemas are reconciled."""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa

from datatrainer.errors import DatatrainerError

ID = "id"
TEXT = "text"
CONTENT_HASH = "content_hash"
SOURCE = "source"
LICENSE = "license"
COLLECTED_AT = "collected_at"

# Columns every version has, in this order, before any input-specific ones.
CORE_FIELDS = (pa.field(ID, pa.string()), pa.field(TEXT, pa.string()), pa.field(CONTENT_HASH, pa.string()))
TIMESTAMP_TYPE = pa.timestamp("us", tz="UTC")


def unify(schemas: Iterable[pa.Schema], where: str) -> pa.Schema:
    """Merge chunk schemas, widening types where that loses nothing (null to anything, int to float).

    A field whose types cannot be reconciled (a number in one place, an object in another) is a data error
    and is reported with the field's name.
    """
    schemas = list(schemas)
    try:
        return pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise DatatrainerError(f"{where}: fields have conflicting types across records: {exc}") from exc


def conform_batch(batch: pa.RecordBatch, target: pa.Schema) -> pa.RecordBatch:
    """Reorder, add missing (null) columns and widen types so a batch matches `target` exactly."""
    if batch.schema.equals(target):
        return batch
    columns = []
    for field in target:
        index = batch.schema.get_field_index(field.name)
        if index < 0:
            columns.append(pa.nulls(batch.num_rows, field.type))
            continue
        column = batch.column(index)
        columns.append(column if column.type.equals(field.type) else column.cast(field.type))
    return pa.RecordBatch.from_arrays(columns, schema=target)
