"""Parquet reader: row-group streaming with bounded memory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from datatrainer.errors import InputError
from datatrainer.io.csv import TableChunk
from datatrainer.io.fs import InputFile
from datatrainer.store.location import filesystem_for

BATCH_ROWS = 65_536


class ParquetReader:
    unit = "rows"

    def __init__(self, source: InputFile | Path) -> None:
        if isinstance(source, Path):
            source = InputFile(str(source), source.stat().st_size)
        self.path = source.url
        try:
            if source.is_remote:
                filesystem, path = filesystem_for(source.url)
                self._file = pq.ParquetFile(path, filesystem=filesystem, pre_buffer=True)
            else:
                self._file = pq.ParquetFile(source.url)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(self.path, f"not a readable Parquet file: {exc}") from None
        self.total = self._file.metadata.num_rows

    def field_names(self) -> list[str]:
        return list(self._file.schema_arrow.names)

    def chunks(self) -> Iterator[TableChunk]:
        first_row = 1
        try:
            for batch in self._file.iter_batches(batch_size=BATCH_ROWS):
                yield TableChunk(self.path, pa.Table.from_batches([batch]), first_row, batch.num_rows, "row")
                first_row += batch.num_rows
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(f"{self.path}: row {first_row}", f"cannot read Parquet data: {exc}") from None
