"""Turn a loaded chunk into canonical records: `id`, `text`, `content_hash`, provenance, other fields.

Validation is vectorised: masks over the whole chunk find the bad rows, and only those are turned into
messages. Hashing runs in DuckDB (md5, stable across machines and versions) so it is parallel and GIL-free.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datatrainer.duckdb_local import thread_connection
from datatrainer.errors import InputError
from datatrainer.io.chunks import LoadedChunk
from datatrainer.io.errors import ErrorSink
from datatrainer.store.schema import COLLECTED_AT, CONTENT_HASH, ID, LICENSE, SOURCE, TEXT, TIMESTAMP_TYPE


@dataclass(frozen=True)
class FieldMapping:
    text_field: str
    id_field: str | None  # None: ids are content hashes
    source: str | None
    license: str | None
    collected_at_field: str | None


@dataclass
class NormalizedChunk:
    table: pa.Table
    id_hashes: np.ndarray  # 64-bit hashes of the ids, for duplicate detection across chunks
    rows: np.ndarray  # position of each kept row in the loaded chunk, for error locations
    source: LoadedChunk




def _report(sink: ErrorSink, chunk: LoadedChunk, bad: np.ndarray, message: str) -> None:
    for row in np.flatnonzero(bad):
        sink(chunk.locate(int(row)), message)


def check_field_conflicts(location: str | Callable[[str], str], names: list[str], mapping: FieldMapping) -> None:
    """Refuse input fields that the canonical columns would silently overwrite.

    `location` may be a function of the field name, to name the first record that has the field.
    """
    produced = {ID: mapping.id_field, TEXT: mapping.text_field, CONTENT_HASH: None}
    if mapping.source is not None:
        produced[SOURCE] = None
    if mapping.license is not None:
        produced[LICENSE] = None
    if mapping.collected_at_field is not None:
        produced[COLLECTED_AT] = mapping.collected_at_field
    for name, mapped_from in produced.items():
        if name in names and mapped_from != name:
            where = location(name) if callable(location) else location
            raise InputError(where, f"input field {name!r} would be overwritten by datatrainer's own "
                                       f"{name!r} column; rename it in the input or map it explicitly")


def normalize(chunk: LoadedChunk, mapping: FieldMapping, sink: ErrorSink) -> NormalizedChunk:
    table = chunk.table
    n = table.num_rows
    bad = np.zeros(n, dtype=bool)
    names = table.column_names
    check_field_conflicts(lambda name: _first_with_value(chunk, name), names, mapping)

    text = _string_column(table, mapping.text_field)
    if text is None:
        present = ", ".join(names) or "none"
        kind = "missing" if mapping.text_field not in names else f"not a string ({table[mapping.text_field].type})"
        _report(sink, chunk, ~bad, f"text field {mapping.text_field!r} is {kind} (fields: {present}); "
                                   "pass --text-field")
        bad[:] = True
        text = pa.nulls(n, pa.string())
    else:
        missing = pc.is_null(text).to_numpy(zero_copy_only=False)
        _report(sink, chunk, missing & ~bad, f"missing text field {mapping.text_field!r}")
        bad |= missing

    ids: pa.ChunkedArray | None = None
    if mapping.id_field is not None:
        ids = _id_column(table, mapping.id_field)
        if ids is None:
            kind = ("missing" if mapping.id_field not in names
                    else f"not a string or whole number ({table[mapping.id_field].type})")
            _report(sink, chunk, ~bad, f"id field {mapping.id_field!r} is {kind}")
            bad[:] = True
        else:
            fractional = _fractional(table[mapping.id_field])
            for row in np.flatnonzero(fractional & ~bad):
                value = table[mapping.id_field][int(row)].as_py()
                sink(chunk.locate(int(row)), f"id {value!r} in field {mapping.id_field!r} is not a whole number")
            bad |= fractional
            empty = pc.fill_null(pc.equal(pc.utf8_length(ids), 0), True).to_numpy(zero_copy_only=False)
            _report(sink, chunk, empty & ~bad, f"missing or empty id field {mapping.id_field!r}")
            bad |= empty

    collected: pa.Array | None = None
    if mapping.collected_at_field is not None:
        collected, unparseable = _timestamps(table, mapping.collected_at_field)
        for row in np.flatnonzero(unparseable & ~bad):
            value = table[mapping.collected_at_field][int(row)].as_py()
            sink(chunk.locate(int(row)), f"unparseable date {value!r} in field {mapping.collected_at_field!r}")
        bad |= unparseable

    keep = np.flatnonzero(~bad)
    if len(keep) < n:
        index = pa.array(keep)
        table, text = table.take(index), text.take(index)
        ids = ids.take(index) if ids is not None else None
        collected = collected.take(index) if collected is not None else None

    con = thread_connection()
    con.register("chunk_text", pa.table({"t": text, "i": ids if ids is not None else text}))
    try:
        hashed = con.sql("SELECT md5(t) AS content_hash, hash(i) AS id_hash FROM chunk_text").to_arrow_table()
    finally:
        con.unregister("chunk_text")
    content_hash = hashed["content_hash"]

    columns: dict[str, pa.ChunkedArray | pa.Array] = {
        ID: ids if ids is not None else content_hash,
        TEXT: text,
        CONTENT_HASH: content_hash,
    }
    if mapping.source is not None:
        columns[SOURCE] = pa.repeat(mapping.source, len(keep)).cast(pa.string())
    if mapping.license is not None:
        columns[LICENSE] = pa.repeat(mapping.license, len(keep)).cast(pa.string())
    if collected is not None:
        columns[COLLECTED_AT] = collected
    consumed = {mapping.text_field, mapping.id_field}
    for name in names:
        if name not in consumed and name not in columns:
            columns[name] = table[name]
    out = pa.table(columns)
    return NormalizedChunk(out, hashed["id_hash"].to_numpy(), keep, chunk)


def _first_with_value(chunk: LoadedChunk, name: str) -> str:
    """Where a field first holds a value: in a later chunk it may be null in every record before."""
    if chunk.table.num_rows == 0:
        return "input"
    present = np.flatnonzero(pc.is_valid(chunk.table[name]).to_numpy(zero_copy_only=False))
    return chunk.locate(int(present[0]) if len(present) else 0)


def _plain(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Dictionary-encoded columns (pandas categoricals in Parquet) and string views as plain values."""
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if pa.types.is_string_view(column.type):
        column = column.cast(pa.string())
    return column


def _string_column(table: pa.Table, name: str) -> pa.ChunkedArray | None:
    if name not in table.column_names:
        return None
    column = _plain(table[name])
    if pa.types.is_null(column.type):
        return column.cast(pa.string())
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return column.cast(pa.string())
    return None


def _id_column(table: pa.Table, name: str) -> pa.ChunkedArray | None:
    if name not in table.column_names:
        return None
    column = _plain(table[name])
    if pa.types.is_integer(column.type) or pa.types.is_null(column.type) or pa.types.is_string(
        column.type) or pa.types.is_large_string(column.type):
        return column.cast(pa.string())
    if pa.types.is_floating(column.type):
        # JSON ids like 12.0 arrive as floats when another id is too large for int64; fractional ones are
        # reported by `_fractional` and become null here.
        whole = pc.if_else(pa.array(_fractional(column)), pa.scalar(None, column.type), column)
        return whole.cast(pa.int64(), safe=False).cast(pa.string())
    return None


def _fractional(column: pa.ChunkedArray) -> np.ndarray:
    """Rows of a float id column that hold no whole number in int64 range (1.5, NaN, 1e300)."""
    if not pa.types.is_floating(column.type):
        return np.zeros(len(column), dtype=bool)
    values = column.to_numpy(zero_copy_only=False)
    with np.errstate(invalid="ignore"):
        whole = (np.floor(values) == values) & (np.abs(values) < 2.0**63)
    fractional: np.ndarray = ~whole & ~pc.is_null(column).to_numpy(zero_copy_only=False)
    return fractional


def _timestamps(table: pa.Table, name: str) -> tuple[pa.Array, np.ndarray]:
    """Parse the collection time: ISO-8601 strings (any offset, or UTC), dates, or epoch seconds."""
    n = table.num_rows
    if name not in table.column_names:
        return pa.nulls(n, TIMESTAMP_TYPE), np.zeros(n, dtype=bool)
    column = table[name]
    con = thread_connection()
    con.register("chunk_dates", pa.table({"v": column}))
    try:
        if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
            expr = "TRY(to_timestamp(v::DOUBLE))"  # out-of-range epochs become unparseable, not a crash
        elif pa.types.is_timestamp(column.type) or pa.types.is_date(column.type):
            expr = "v::TIMESTAMPTZ"
        else:
            expr = "TRY_CAST(v::VARCHAR AS TIMESTAMPTZ)"
        con.execute("SET TimeZone = 'UTC'")
        parsed = con.sql(f"SELECT {expr} AS ts FROM chunk_dates").to_arrow_table()["ts"]  # nosec B608  # one of three fixed expressions
    finally:
        con.unregister("chunk_dates")
    parsed = parsed.cast(TIMESTAMP_TYPE)
    unparseable = (pc.is_null(parsed).to_numpy(zero_copy_only=False)
                   & ~pc.is_null(column).to_numpy(zero_copy_only=False))
    return parsed.combine_chunks(), unparseable
