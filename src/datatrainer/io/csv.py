"""CSV reader: Arrow's streaming CSV reader, with bad rows named by line and handled by the error policy."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv

from datatrainer.errors import InputError
from datatrainer.io.chunks import LoadedChunk
from datatrainer.io.encoding import check_bom, first_invalid_utf8, is_utf8
from datatrainer.io.errors import ErrorSink


@dataclass
class TableChunk:
    """A chunk that is already an Arrow table (CSV, Parquet and HF readers); row numbers are 1-based."""

    path: str
    table: pa.Table
    first_row: int
    size: int
    label: str = "record"

    def load(self, sink: ErrorSink) -> LoadedChunk:
        return LoadedChunk(self.table, lambda row: f"{self.path}: {self.label} {self.first_row + row}")


class CsvReader:
    unit = "rows"

    def __init__(self, path: Path, encoding: str, chunk_bytes: int, text_columns: list[str]) -> None:
        self.path = str(path)
        self._file = path
        self._encoding = encoding
        self._chunk_bytes = chunk_bytes
        self._text_columns = text_columns
        self.total = 0  # unknown row count: the bar shows a spinner-style count
        with open(path, "rb") as handle:
            check_bom(self.path, handle.read(4), encoding)

    def field_names(self) -> list[str]:
        with pcsv.open_csv(self._file, read_options=self._read_options()) as reader:
            return list(reader.schema.names)

    def _read_options(self) -> pcsv.ReadOptions:
        return pcsv.ReadOptions(block_size=self._chunk_bytes, encoding=self._encoding, use_threads=True)

    def chunks(self) -> Iterator[TableChunk]:
        pending: list[tuple[str, str]] = []

        def on_invalid_row(row: pcsv.InvalidRow) -> str:
            where = f"{self.path}:{row.number}" if row.number is not None and row.number >= 0 else self.path
            pending.append((where, f"expected {row.expected_columns} columns, found {row.actual_columns}"))
            return "skip"

        names = self.field_names()
        convert = pcsv.ConvertOptions(
            column_types={name: pa.string() for name in self._text_columns if name in names},
            strings_can_be_null=False,
        )
        parse = pcsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid_row)
        first_row = 1
        try:
            with pcsv.open_csv(self._file, read_options=self._read_options(), parse_options=parse,
                               convert_options=convert) as reader:
                for batch in reader:
                    yield _CsvChunk(self.path, pa.Table.from_batches([batch]), first_row, batch.num_rows,
                                    problems=list(pending))
                    pending.clear()
                    first_row += batch.num_rows
        except pa.ArrowInvalid as exc:
            raise InputError(self.path, self._explain(exc)) from None

    def _explain(self, exc: pa.ArrowInvalid) -> str:
        message = str(exc).splitlines()[0]
        if "UTF8" in message and is_utf8(self._encoding):
            with open(self._file, "rb") as handle:
                for number, line in enumerate(handle, start=1):
                    problem = first_invalid_utf8(line)
                    if problem:
                        return f"line {number}: {problem}"
        if "conversion error" in message:
            return (f"{message} (column types are inferred from the start of the file; "
                    "a later value does not fit)")
        return message


@dataclass
class _CsvChunk(TableChunk):
    problems: list[tuple[str, str]] | None = None

    def load(self, sink: ErrorSink) -> LoadedChunk:
        for location, message in self.problems or []:
            sink(location, message)
        return super().load(sink)
