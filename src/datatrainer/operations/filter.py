"""`filter`: keep the records matching a SQL boolean expression (DuckDB dialect)."""

from __future__ import annotations

import threading

import duckdb
import pyarrow as pa
from pydantic import BaseModel, Field

from datatrainer.errors import DatatrainerError
from datatrainer.operations.base import BatchOperation, register
from datatrainer.store.versions import DatasetVersion


class FilterParams(BaseModel):
    where: str = Field(min_length=1, description="SQL boolean expression over the columns, e.g. length(text) > 200")


_local = threading.local()


def _cursor() -> duckdb.DuckDBPyConnection:
    # One DuckDB connection per worker thread: connections are not shared across threads.
    con = getattr(_local, "con", None)
    if con is None:
        con = duckdb.connect()
        con.execute("SET threads = 1")
        _local.con = con
    return con


def _select(batch: pa.RecordBatch | pa.Table, where: str) -> pa.Table:
    con = _cursor()
    con.register("records", batch)
    try:
        return con.sql(f"SELECT * FROM records WHERE ({where})").to_arrow_table()
    finally:
        con.unregister("records")


@register
class FilterOperation(BatchOperation[FilterParams]):
    name = "filter"
    params_model = FilterParams

    def prepare(self, version: DatasetVersion, params: FilterParams) -> None:
        try:
            _select(version.schema.empty_table(), params.where)
        except duckdb.Error as exc:
            message = str(exc).splitlines()[0]
            raise DatatrainerError(f"invalid filter expression {params.where!r}: {message}") from None

    def transform(self, batch: pa.RecordBatch, params: FilterParams) -> pa.Table:
        return _select(batch, params.where).cast(batch.schema)
