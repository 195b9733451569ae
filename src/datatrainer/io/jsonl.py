"""JSON Lines reader: streams the file in byte chunks cut at line ends and parses each with Arrow.

Clean chunks take the fast path (one Arrow parse). A chunk Arrow rejects is re-read line by line to name
every bad line exactly (invalid JSON, not an object, invalid UTF-8, a field changing type), so errors cost
time only where they occur.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.json as pj

from datatrainer.errors import InputError
from datatrainer.io.chunks import LoadedChunk
from datatrainer.io.encoding import check_bom, first_invalid_utf8, is_utf8
from datatrainer.io.errors import ErrorSink

_ROW_RE = re.compile(r"in row (\d+)")
_COLUMN_RE = re.compile(r"Column\((/[^)]*)\) changed from (\w+) to (\w+)")
_JSON_KINDS = {dict: "an object", list: "an array", bool: "a boolean"}


@dataclass
class JsonlChunk:
    path: str
    data: bytes
    first_line: int  # 1-based line number of the chunk's first line
    encoding: str
    size: int
    text_field: str = "text"

    def load(self, sink: ErrorSink) -> LoadedChunk:
        data = self.data if is_utf8(self.encoding) else self._transcode(sink)
        try:
            table = _parse(data)
            table.validate(full=True)
        except pa.ArrowInvalid:
            return self._load_line_by_line(data, sink)
        line_numbers: list[int] | None = None

        def locate(row: int) -> str:
            nonlocal line_numbers
            if line_numbers is None:
                line_numbers = [self.first_line + i for i, line in enumerate(data.split(b"\n")) if line.strip()]
            return f"{self.path}:{line_numbers[row]}"

        return LoadedChunk(table, locate)

    def _transcode(self, sink: ErrorSink) -> bytes:
        """Re-encode to UTF-8, dropping (via the sink) lines that are not valid in the declared encoding."""
        try:
            return self.data.decode(self.encoding).encode("utf-8")
        except UnicodeDecodeError:
            pass
        lines = []
        for offset, line in enumerate(self.data.split(b"\n")):
            try:
                lines.append(line.decode(self.encoding).encode("utf-8"))
            except UnicodeDecodeError as exc:
                sink(f"{self.path}:{self.first_line + offset}", f"not valid {self.encoding}: {exc.reason}")
                lines.append(b"")
        return b"\n".join(lines)

    def _load_line_by_line(self, data: bytes, sink: ErrorSink) -> LoadedChunk:
        good: list[bytes] = []
        numbers: list[int] = []
        for offset, line in enumerate(data.split(b"\n")):
            if not line.strip():
                continue
            number = self.first_line + offset
            problem = _line_problem(line, self.text_field)
            if problem:
                sink(f"{self.path}:{number}", problem)
                continue
            good.append(line)
            numbers.append(number)
        # What remains is valid JSON objects; Arrow may still reject a field whose type changes between
        # records. Name that record, drop it, and parse again.
        while good:
            try:
                table = _parse(b"\n".join(good))
                break
            except pa.ArrowInvalid as exc:
                row_match = _ROW_RE.search(str(exc))
                if row_match is None:
                    raise InputError(f"{self.path}:{numbers[0]}-{numbers[-1]}", _arrow_message(exc)) from None
                row = int(row_match.group(1))
                sink(f"{self.path}:{numbers[row]}", _arrow_message(exc))
                del good[row], numbers[row]
        else:
            table = pa.table({})
        return LoadedChunk(table, lambda row: f"{self.path}:{numbers[row]}")


def _parse(data: bytes) -> pa.Table:
    """Parse with Arrow, keeping JSON strings as strings.

    Arrow turns strings that look like dates into timestamps; JSON has no such type, and the guess would
    depend on which values share a chunk (a text of "2024-01-01" would stop being text, and a field would
    change type between chunks). Fields it guessed as timestamps are parsed again as strings.
    """
    options = pj.ReadOptions(use_threads=False, block_size=max(len(data) + 1, 1 << 20))
    table = pj.read_json(io.BytesIO(data), read_options=options)
    schema = pa.schema([field.with_type(_strings_for_timestamps(field.type)) for field in table.schema])
    if schema.equals(table.schema):
        return table
    parse = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer")
    return pj.read_json(io.BytesIO(data), read_options=options, parse_options=parse)


def _strings_for_timestamps(type_: pa.DataType) -> pa.DataType:
    if pa.types.is_timestamp(type_):
        return pa.string()
    if pa.types.is_struct(type_):
        return pa.struct([type_.field(i).with_type(_strings_for_timestamps(type_.field(i).type))
                          for i in range(type_.num_fields)])
    if pa.types.is_list(type_):
        return pa.list_(type_.value_field.with_type(_strings_for_timestamps(type_.value_type)))
    return type_


def _line_problem(line: bytes, text_field: str) -> str | None:
    """What is wrong with one line, if anything Arrow would trip over.

    A text that is not a string is named here, line by line: left to Arrow, the first record's type wins
    and the good records after it would be reported instead.
    """
    bad = first_invalid_utf8(line)
    if bad is not None:
        return bad
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return f"invalid JSON: {exc}"
    if not isinstance(value, dict):
        return f"expected a JSON object, found {type(value).__name__}"
    text = value.get(text_field)
    if text is not None and not isinstance(text, str):
        return f"text field {text_field!r} is not a string (found {_JSON_KINDS.get(type(text), 'a number')})"
    return None


def _arrow_message(exc: pa.ArrowInvalid) -> str:
    text = str(exc)
    match = _COLUMN_RE.search(text)
    if match:
        field = match.group(1).lstrip("/").replace("/", ".") or "(record)"
        return f"field {field!r} is {_a(match.group(3))} here but {_a(match.group(2))} in earlier records"
    return _ROW_RE.sub("", text.replace("JSON parse error: ", "")).strip().rstrip(".")


def _a(kind: str) -> str:
    return f"an {kind}" if kind[:1] in "aeiou" else f"a {kind}"


class JsonlReader:
    unit = "bytes"

    def __init__(self, path: Path, encoding: str, chunk_bytes: int, text_field: str = "text") -> None:
        self.path = str(path)
        self._text_field = text_field
        self._file = path
        self._encoding = encoding
        self._chunk_bytes = chunk_bytes
        self.total = path.stat().st_size

    def field_names(self) -> list[str]:
        with open(self._file, "rb") as handle:
            for number, line in enumerate(handle, start=1):
                if number == 1:
                    line = check_bom(self.path, line, self._encoding)
                if not line.strip():
                    continue
                if not is_utf8(self._encoding):
                    line = line.decode(self._encoding, errors="replace").encode()
                try:
                    value = orjson.loads(line)
                except orjson.JSONDecodeError:
                    return []  # the chunk pass reports it with its line number
                return list(value) if isinstance(value, dict) else []
        return []

    def chunks(self) -> Iterator[JsonlChunk]:
        """Cut each block after its last newline; the cut-off tail starts the next block."""
        line = 1
        with open(self._file, "rb") as handle:
            head = handle.read(4)
            handle.seek(len(head) - len(check_bom(self.path, head, self._encoding)))
            while True:
                start = handle.tell()
                block = handle.read(self._chunk_bytes)
                if not block:
                    return
                cut = block.rfind(b"\n") + 1
                if cut == 0:  # a line longer than a chunk, or a last line without a newline
                    block += handle.readline()
                    cut = len(block)
                handle.seek(start + cut)
                data = block[:cut]
                yield JsonlChunk(self.path, data, line, self._encoding, cut, self._text_field)
                line += data.count(b"\n")
