"""Reading configured fields out of a record batch, whatever their stored type, without row loops.

A configured field may be absent from a version's schema; metrics see it as all-null instead of failing,
so "the label column does not exist" and "no record has a label" are measured the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datatrainer.store.versions import DatasetVersion

UTC_MICROS = pa.timestamp("us", tz="UTC")
STRING_TYPES = (pa.string(), pa.large_string())


def column(batch: pa.RecordBatch, name: str) -> pa.Array:
    """The named column, or an all-null column when the batch has no such field."""
    index = batch.schema.get_field_index(name)
    return batch.column(index) if index >= 0 else pa.nulls(batch.num_rows)


def text_column(batch: pa.RecordBatch, name: str) -> pa.Array:
    """The text field as strings; all null when it is absent or not a string column (a schema error)."""
    texts = column(batch, name)
    return texts if is_stringlike(texts.type) else pa.nulls(batch.num_rows, pa.string())


def is_blank(texts: pa.Array) -> pa.Array:
    """Null, empty or only whitespace."""
    return pc.fill_null(pc.equal(pc.utf8_trim_whitespace(texts), ""), True)


def is_stringlike(data_type: pa.DataType) -> bool:
    if pa.types.is_dictionary(data_type):
        return is_stringlike(data_type.value_type)
    return any(bool(data_type == kind) for kind in STRING_TYPES)


def as_strings(values: pa.Array) -> pa.Array:
    """Labels and other scalar fields as strings (an integer label 3 becomes "3"), nulls kept."""
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    if pa.types.is_null(values.type):
        return pa.nulls(len(values), pa.string())
    return pc.cast(values, pa.string())


def is_date_type(data_type: pa.DataType) -> bool:
    return bool(pa.types.is_timestamp(data_type) or pa.types.is_date(data_type))


def parse_timestamps(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(UTC microsecond timestamps, unparseable flags) for a timestamp, date or ISO-8601 string column.

    Strings are parsed by DuckDB's `TRY_CAST(... AS TIMESTAMPTZ)` in UTC: an offset is honoured, a value
    without one is read as UTC, and anything else (e.g. "05/01/2024") is unparseable. Null stays null and
    is not "unparseable": it is missing. Other types are unparseable wherever a value is present.
    """
    if pa.types.is_null(values.type):
        return pa.nulls(len(values), UTC_MICROS), pa.array(np.zeros(len(values), dtype=bool))
    if pa.types.is_timestamp(values.type) and values.type.tz is None:
        values = pc.assume_timezone(values, "UTC")
    if is_date_type(values.type):
        as_timestamps = pc.cast(values, pa.timestamp("us")) if pa.types.is_date(values.type) else values
        return pc.cast(as_timestamps, UTC_MICROS), pa.array(np.zeros(len(values), dtype=bool))
    if not is_stringlike(values.type):
        return pa.nulls(len(values), UTC_MICROS), pc.is_valid(values)
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        connection.register("dates", pa.table({"value": values}))
        parsed: pa.Table = connection.sql("SELECT TRY_CAST(value AS TIMESTAMPTZ) AS t FROM dates").to_arrow_table()
    timestamps = pc.cast(parsed.column("t").combine_chunks(), UTC_MICROS)
    unparseable = pc.and_(pc.is_valid(values), pc.is_null(timestamps))
    return timestamps, unparseable


def take_rows(version: DatasetVersion, names: Sequence[str], rows: np.ndarray) -> pa.Table:
    """The given rows (stored-order indices, any order, no repeats) of some columns, in the order asked.

    Streams the version batch by batch and keeps only the wanted rows, so fetching a sample of texts never
    holds the whole text column in memory.
    """
    order = np.argsort(rows, kind="stable")
    wanted = np.asarray(rows, dtype=np.int64)[order]
    pieces: list[pa.Table] = []
    offset = 0
    for batch in version.read_batches([n for n in names if n in version.schema.names]):
        low, high = np.searchsorted(wanted, [offset, offset + batch.num_rows])
        if high > low:
            pieces.append(pa.Table.from_batches([batch.take(pa.array(wanted[low:high] - offset))]))
        offset += batch.num_rows
        if high == len(wanted):
            break
    schema = pa.schema([version.schema.field(n) for n in names if n in version.schema.names])
    taken = pa.concat_tables(pieces) if pieces else schema.empty_table()
    return taken.take(pa.array(np.argsort(order, kind="stable")))
