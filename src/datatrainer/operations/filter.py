"""`filter`: keep the records matching a SQL boolean expression (DuckDB dialect)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from pydantic import BaseModel, Field

from datatrainer.duckdb_local import thread_connection
from datatrainer.errors import DatatrainerError
from datatrainer.operations.base import BatchOperation, Filtered
from datatrainer.store.versions import DatasetVersion


class FilterParams(BaseModel):
    where: str = Field(min_length=1, description="SQL boolean expression over the columns, e.g. length(text) > 200")


def _split(batch: pa.RecordBatch | pa.Table, where: str) -> tuple[pa.Table, pa.Table]:
    """Rows where the condition is true, and the ids of the others (false or NULL)."""
    con = thread_connection()
    con.register("records", batch)
    try:
        kept = con.sql(f"SELECT * FROM records WHERE ({where})").to_arrow_table()  # nosec B608  # the filter is SQL by design; it runs in DuckDB with file, network and extension access off
        dropped = con.sql(f"SELECT id FROM records WHERE NOT coalesce(({where}), false)").to_arrow_table()  # nosec B608  # the filter is SQL by design; it runs in DuckDB with file, network and extension access off
    finally:
        con.unregister("records")
    return kept, dropped


class FilterOperation(BatchOperation[FilterParams]):
    """Keep the records for which a SQL condition over their columns is true; the others are dropped with
    the condition as their reason."""

    name = "filter"
    params_model = FilterParams

    def prepare(self, version: DatasetVersion, params: FilterParams) -> None:
        try:
            _split(version.schema.empty_table(), params.where)
        except duckdb.Error as exc:
            message = str(exc).splitlines()[0]
            raise DatatrainerError(f"invalid filter expression {params.where!r}: {message}") from None

    def transform(self, batch: pa.RecordBatch, params: FilterParams) -> Filtered:
        kept, dropped = _split(batch, params.where)
        reason = pa.repeat(pa.scalar(f"filter: {params.where}"), dropped.num_rows)
        return Filtered(kept.cast(batch.schema), dropped.append_column("reason", reason))

    @classmethod
    def example_params(cls, records: Path) -> list[dict[str, Any]]:
        return [{"where": "n % 3 = 0"}, {"where": "length(text) > 40 AND n < 30"}]
