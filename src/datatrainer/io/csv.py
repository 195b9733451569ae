"""CSV reader: Arrow's streaming CSV reader, with bad rows named by record and handled by the error policy.

Arrow fixes column types from the first block it reads; a later value that does not fit (a float in a
column of integers, text in a column empty so far) would stop the read. A file larger than one block
therefore gets a typing pass first that widens such columns, so the result does not depend on the block size.

Records are numbered from 1 after the header (blank lines do not count); a value may span lines, so the
record number is the one location that is always exact.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

from datatrainer.errors import InputError
from datatrainer.io.chunks import LoadedChunk
from datatrainer.io.encoding import check_bom, first_invalid_utf8, is_utf8
from datatrainer.io.errors import ErrorSink
from datatrainer.io.fs import InputFile

_HEADER_BYTES = 1 << 20
# Arrow names the row only when it reads serially (`use_threads=False`, or a one-core thread pool).
_CONVERSION_RE = re.compile(
    r"In CSV column #(\d+): (?:Row #\d+: )?CSV conversion error to [^:]+: invalid value '(.*)'$", re.S)


@dataclass
class TableChunk:
    """A chunk that is already an Arrow table (CSV, Parquet and HF readers); row numbers are 1-based."""

    path: str
    table: pa.Table
    first_row: int
    size: int
    label: str = "record"

    def load(self, sink: ErrorSink, earlier: pa.Schema | None = None) -> LoadedChunk:
        return LoadedChunk(self.table, lambda row: f"{self.path}: {self.label} {self.first_row + row}")


class CsvReader:
    unit = "rows"

    def __init__(self, source: InputFile | Path, encoding: str, chunk_bytes: int, text_columns: list[str],
                 delimiter: str = ",") -> None:
        if isinstance(source, Path):
            source = InputFile(str(source), source.stat().st_size)
        self.path = source.url
        self._source = source
        self._encoding = encoding
        self._chunk_bytes = chunk_bytes
        self._text_columns = text_columns
        self._delimiter = delimiter
        self.total = 0  # unknown row count: the bar shows a spinner-style count
        with source.open() as handle:
            check_bom(self.path, handle.read(4), encoding)
        self._names = self._header()
        repeated = sorted({name for name in self._names if self._names.count(name) > 1})
        if repeated:
            raise InputError(f"{self.path}: header", f"column {repeated[0]!r} appears more than once")

    def field_names(self) -> list[str]:
        return list(self._names)

    def _header(self) -> list[str]:
        """Column names from the header record alone: Arrow would parse (and could reject) a whole block."""
        with self._source.open() as handle:
            head = handle.read(_HEADER_BYTES)
        text = head.decode("utf-8-sig" if is_utf8(self._encoding) else self._encoding, errors="replace")
        return next(csv.reader(io.StringIO(text, newline=""), delimiter=self._delimiter), [])

    def _open(self, column_types: dict[str, pa.DataType], on_invalid_row: Callable[[pcsv.InvalidRow], str],
              use_threads: bool) -> pcsv.CSVStreamingReader:
        read = pcsv.ReadOptions(block_size=self._chunk_bytes, encoding=self._encoding, use_threads=use_threads)
        parse = pcsv.ParseOptions(delimiter=self._delimiter, newlines_in_values=True,
                                  invalid_row_handler=on_invalid_row)
        # UTF-8 is checked per record in `_CsvChunk.load`, so one bad byte costs one record, not the file.
        convert = pcsv.ConvertOptions(column_types=column_types, strings_can_be_null=False, check_utf8=False)
        # A plain local file by path (Arrow reads it natively); anything else as the decompressed stream.
        source = self.path if self._source.seekable else self._source.open()
        return pcsv.open_csv(source, read_options=read, parse_options=parse, convert_options=convert)

    def _column_types(self) -> dict[str, pa.DataType]:
        """Text and id columns are strings; other columns keep Arrow's inference, widened where a later
        block holds a value that does not fit the type inferred from the first block."""
        types: dict[str, pa.DataType] = {name: pa.string() for name in self._text_columns if name in self._names}
        if self._source.seekable and self._source.size <= self._chunk_bytes:
            return types  # one block: Arrow's inference saw every value
        for _attempt in range(3 * len(self._names) + 1):  # each retry widens one column one step
            try:
                reader = self._open(types, lambda row: "skip", use_threads=True)
            except (pa.ArrowInvalid, UnicodeDecodeError):
                return types  # the reading pass reports it
            with reader:
                schema = reader.schema
                try:
                    for _batch in reader:
                        pass
                    return types
                except pa.ArrowInvalid as exc:
                    match = _CONVERSION_RE.search(str(exc).splitlines()[0] if str(exc) else "")
                    if match is None or int(match[1]) >= len(schema):
                        return types
                    column = schema.field(int(match[1]))
                    types = {**types, column.name: _widen(column.type, match[2])}
                except UnicodeDecodeError:
                    return types
        return types

    def chunks(self) -> Iterator[TableChunk]:
        column_types = self._column_types()
        pending: list[tuple[int, str]] = []
        skipped: set[int] = set()

        def on_invalid_row(row: pcsv.InvalidRow) -> str:
            # Arrow counts the header as record 1; with use_threads=False it always knows the number.
            number = row.number - 1 if row.number is not None and row.number > 0 else -1
            pending.append((number, f"expected {row.expected_columns} columns, found {row.actual_columns}"))
            return "skip"

        next_record = 1
        try:
            with self._open(column_types, on_invalid_row, use_threads=False) as reader:
                for batch in reader:
                    problems = pending[:]
                    del pending[:len(problems)]
                    skipped.update(number for number, _ in problems)
                    numbers = _record_numbers(next_record, batch.num_rows, skipped)
                    if len(numbers):
                        next_record = int(numbers[-1]) + 1
                        skipped = {number for number in skipped if number >= next_record}
                    located = [(self._record(number), message) for number, message in problems]
                    yield _CsvChunk(self.path, pa.Table.from_batches([batch]), 1, batch.num_rows,
                                    problems=located, numbers=numbers)
                for number, message in pending:  # rows after the last batch
                    yield _CsvChunk(self.path, pa.table({}), 1, 0, problems=[(self._record(number), message)],
                                    numbers=np.zeros(0, dtype=np.int64))
        except pa.ArrowInvalid as exc:
            raise InputError(self.path, self._explain(exc)) from None
        except UnicodeDecodeError as exc:
            raise InputError(self.path, f"not valid {self._encoding}: {exc.reason}") from None

    def _record(self, number: int) -> str:
        return f"{self.path}: record {number}" if number > 0 else self.path

    def _explain(self, exc: pa.ArrowInvalid) -> str:
        message = str(exc).splitlines()[0] if str(exc) else "cannot parse the file"
        if "conversion error" in message:
            return (f"{message} (column types are inferred from the start of the file; "
                    "a later value does not fit)")
        return message


def _record_numbers(first: int, count: int, skipped: set[int]) -> np.ndarray:
    """Record numbers of a batch's rows: the next `count` numbers from `first` that Arrow did not skip."""
    candidates = np.arange(first, first + count + len(skipped), dtype=np.int64)
    if skipped:
        candidates = candidates[~np.isin(candidates, np.fromiter(skipped, dtype=np.int64))]
    return candidates[:count]


def _widen(current: pa.DataType, value: str) -> pa.DataType:
    """The type Arrow would infer for a column holding both its values so far and `value`."""
    quoted = '"' + value.replace('"', '""') + '"'
    found = pcsv.read_csv(io.BytesIO(f"v\n{quoted}\n".encode())).schema.field(0).type
    if pa.types.is_null(current) and not pa.types.is_null(found):
        return found
    if pa.types.is_integer(current) and pa.types.is_floating(found):
        return pa.float64()
    if pa.types.is_date(current) and pa.types.is_timestamp(found):
        return found
    return pa.string()


@dataclass
class _CsvChunk(TableChunk):
    problems: list[tuple[str, str]] = field(default_factory=list)
    numbers: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def load(self, sink: ErrorSink, earlier: pa.Schema | None = None) -> LoadedChunk:
        for location, message in self.problems:
            sink(location, message)
        table, numbers = self._drop_invalid_utf8(sink)
        return LoadedChunk(table, lambda row: f"{self.path}: {self.label} {numbers[row]}")

    def _drop_invalid_utf8(self, sink: ErrorSink) -> tuple[pa.Table, np.ndarray]:
        """Arrow's own UTF-8 check fails the whole file; this names (and drops) each bad record instead."""
        bad = np.zeros(self.table.num_rows, dtype=bool)
        for name in self.table.column_names:
            column = self.table[name]
            if not pa.types.is_string(column.type):
                continue
            try:
                column.validate(full=True)
                continue
            except pa.ArrowInvalid:
                pass
            values = column.cast(pa.binary()).to_pylist()
            for row, value in enumerate(values):
                problem = first_invalid_utf8(value) if value is not None and not bad[row] else None
                if problem:
                    sink(f"{self.path}: {self.label} {self.numbers[row]}",
                         f"field {name!r}: " + problem.replace(" of the line", " of the value"))
                    bad[row] = True
        if not bad.any():
            return self.table, self.numbers
        return self.table.filter(pa.array(~bad)), self.numbers[~bad]
