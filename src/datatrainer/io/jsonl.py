"""JSON Lines reader: streams the file in byte chunks cut at line ends and parses each with Arrow.

Clean chunks take the fast path (one Arrow parse). A chunk Arrow rejects is re-read line by line to name
every bad line exactly (invalid JSON, not an object, invalid UTF-8, a field changing type), so errors cost
time only where they occur. Which record of a type conflict is the bad one depends on the chunks before
(the first value in the file sets the type): a chunk whose types clash with them is loaded again, in input
order, knowing them.
"""

from __future__ import annotations

import io
import re
import threading
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from functools import cached_property
from pathlib import Path
from typing import Any, BinaryIO

import orjson
import pyarrow as pa
import pyarrow.json as pj

from datatrainer.errors import InputError
from datatrainer.io.chunks import LoadedChunk
from datatrainer.io.encoding import check_bom, first_invalid_utf8, is_utf8
from datatrainer.io.errors import ErrorSink
from datatrainer.io.fs import InputFile

_FIELD_SCAN_LINES = 1_000  # how many lines `field_names` looks at
_ROW_RE = re.compile(r"in row (\d+)")
_COLUMN_RE = re.compile(r"Column\((/[^)]*)\) changed from (\w+) to (\w+)")


class LineIndex:
    """Line numbers of byte offsets in a file, found only when an error needs one.

    Counting newlines while reading would cost a pass over every byte holding the GIL on the reading
    thread; errors are rare, so the count runs (once per offset, resuming from the nearest offset already
    counted) only when a chunk has something to report. Offsets are in decompressed bytes: a compressed
    shard is decompressed again up to the offset.
    """

    def __init__(self, source: InputFile) -> None:
        self._source = source
        self._lock = threading.Lock()
        self._offsets = [0]
        self._lines = [1]

    def line_at(self, offset: int) -> int:
        """The 1-based line number of the line starting at byte `offset`."""
        with self._lock:
            nearest = bisect_right(self._offsets, offset) - 1
            start, line = self._offsets[nearest], self._lines[nearest]
            with self._source.open() as handle:
                if self._source.seekable:
                    handle.seek(start)
                else:
                    _skip(handle, start)
                remaining = offset - start
                while remaining > 0:
                    block = handle.read(min(remaining, 16 << 20))
                    if not block:
                        break
                    line += block.count(b"\n")
                    remaining -= len(block)
            self._offsets.insert(nearest + 1, offset)
            self._lines.insert(nearest + 1, line)
            return line


def _skip(handle: BinaryIO, count: int) -> None:
    while count > 0:
        block = handle.read(min(count, 16 << 20))
        if not block:
            return
        count -= len(block)


@dataclass
class JsonlChunk:
    path: str
    data: bytes
    offset: int  # byte offset of the chunk's first line in the file
    lines: LineIndex = dataclass_field(repr=False)
    encoding: str
    size: int
    text_field: str = "text"

    @cached_property
    def first_line(self) -> int:
        """1-based line number of the chunk's first line (counted on demand: only errors need it)."""
        return self.lines.line_at(self.offset)

    def load(self, sink: ErrorSink, earlier: pa.Schema | None = None) -> LoadedChunk:
        problems: list[tuple[int, str]] = []
        data = self.data if is_utf8(self.encoding) else self._transcode(problems)
        if earlier is not None:  # loaded again because its types clash with earlier chunks: judge each line
            return self._load_line_by_line(data, problems, sink, earlier)
        try:
            table = _parse(data)
            table.validate(full=True)
        except pa.ArrowInvalid:
            return self._load_line_by_line(data, problems, sink, earlier)
        self._report(problems, sink)
        line_numbers: list[int] | None = None

        def locate(row: int) -> str:
            nonlocal line_numbers
            if line_numbers is None:
                line_numbers = [self.first_line + i for i, line in enumerate(data.split(b"\n")) if line.strip()]
            return f"{self.path}:{line_numbers[row]}"

        return LoadedChunk(table, locate)

    def _report(self, problems: list[tuple[int, str]], sink: ErrorSink) -> None:
        for number, message in sorted(problems):
            sink(f"{self.path}:{number}", message)

    def _transcode(self, problems: list[tuple[int, str]]) -> bytes:
        """Re-encode to UTF-8, blanking (and noting) lines that are not valid in the declared encoding."""
        try:
            return self.data.decode(self.encoding).encode("utf-8")
        except UnicodeDecodeError:
            pass
        lines = []
        for offset, line in enumerate(self.data.split(b"\n")):
            try:
                lines.append(line.decode(self.encoding).encode("utf-8"))
            except UnicodeDecodeError as exc:
                problems.append((self.first_line + offset, f"not valid {self.encoding}: {exc.reason}"))
                lines.append(b"")
        return b"\n".join(lines)

    def _load_line_by_line(self, data: bytes, problems: list[tuple[int, str]], sink: ErrorSink,
                           earlier: pa.Schema | None) -> LoadedChunk:
        """Name every bad line, in line order. Type conflicts are judged against `earlier` (the types of the
        chunks before) when given, else within the chunk; the pipeline loads the chunk again with `earlier`
        if that second guess clashes with the chunks before."""
        good: list[bytes] = []
        numbers: list[int] = []
        values: list[dict[str, Any]] = []
        for offset, line in enumerate(data.split(b"\n")):
            if not line.strip():
                continue
            number = self.first_line + offset
            value, problem = _parse_line(line, self.text_field)
            if problem is not None or value is None:
                problems.append((number, problem or "invalid JSON"))
                continue
            good.append(line)
            numbers.append(number)
            values.append(value)
        conflicts = _type_conflicts(values, earlier)
        problems.extend((numbers[index], message) for index, message in conflicts.items())
        good = [line for index, line in enumerate(good) if index not in conflicts]
        numbers = [number for index, number in enumerate(numbers) if index not in conflicts]
        self._report(problems, sink)
        # What remains is valid JSON objects of consistent types. Should Arrow still reject a record, name
        # it, drop it, and parse again.
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


def _parse_line(line: bytes, text_field: str) -> tuple[dict[str, Any] | None, str | None]:
    """The record on one line, or what is wrong with it.

    A text that is not a string is named here, line by line: left to Arrow, the first record's type wins
    and the good records after it would be reported instead.
    """
    bad = first_invalid_utf8(line)
    if bad is not None:
        return None, bad
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return None, f"invalid JSON: {exc}"
    if not isinstance(value, dict):
        return None, f"expected a JSON object, found {type(value).__name__}"
    text = value.get(text_field)
    if text is not None and not isinstance(text, str):
        return None, f"text field {text_field!r} is not a string (found {_json_kind(text)})"
    return value, None


def _type_conflicts(values: list[dict[str, Any]], earlier: pa.Schema | None) -> dict[int, str]:
    """Records whose fields disagree in kind (number, string, object...) with the first record, in file
    order, that gave the field a value: Arrow cannot hold both in one column. `earlier` holds the types of
    the chunks before this one; without it, conflicts are judged within the chunk alone."""
    expected = _schema_kinds(earlier) if earlier is not None else {}
    conflicts: dict[int, str] = {}
    for index, value in enumerate(values):
        seen: dict[str, str] = {}
        for path, kind in _value_kinds(value, ""):
            wanted = expected.get(path) or seen.get(path)
            if wanted is not None and wanted != kind:
                conflicts[index] = f"field {path!r} is {kind} here but {wanted} in earlier records"
                break
            seen.setdefault(path, kind)
        else:
            for path, kind in seen.items():
                expected.setdefault(path, kind)
    return conflicts


def _value_kinds(value: dict[str, Any], prefix: str) -> Iterator[tuple[str, str]]:
    for key, item in value.items():
        yield from _item_kinds(item, f"{prefix}{key}")


def _item_kinds(item: Any, path: str) -> Iterator[tuple[str, str]]:
    if item is None:
        return
    yield path, _json_kind(item)
    if isinstance(item, dict):
        yield from _value_kinds(item, f"{path}.")
    elif isinstance(item, list):
        for element in item:
            yield from _item_kinds(element, f"{path}[]")


def _schema_kinds(schema: pa.Schema) -> dict[str, str]:
    kinds: dict[str, str] = {}
    for field in schema:
        _type_kinds(field.type, field.name, kinds)
    return kinds


def _type_kinds(type_: pa.DataType, path: str, kinds: dict[str, str]) -> None:
    if pa.types.is_integer(type_) or pa.types.is_floating(type_):
        kinds[path] = "a number"
    elif pa.types.is_string(type_) or pa.types.is_large_string(type_):
        kinds[path] = "a string"
    elif pa.types.is_boolean(type_):
        kinds[path] = "a boolean"
    elif pa.types.is_struct(type_):
        kinds[path] = "an object"
        for index in range(type_.num_fields):
            child = type_.field(index)
            _type_kinds(child.type, f"{path}.{child.name}", kinds)
    elif pa.types.is_list(type_) or pa.types.is_large_list(type_):
        kinds[path] = "an array"
        _type_kinds(type_.value_type, f"{path}[]", kinds)


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"


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

    def __init__(self, source: InputFile | Path, encoding: str, chunk_bytes: int, text_field: str = "text") -> None:
        if isinstance(source, Path):
            source = InputFile(str(source), source.stat().st_size)
        self.path = source.url
        self._source = source
        self._text_field = text_field
        self._encoding = encoding
        self._chunk_bytes = chunk_bytes
        self.total = source.size  # stored bytes: progress follows the compressed input of a shard

    def field_names(self) -> list[str]:
        """Fields of the records at the start of the file, in order of appearance.

        More than the first line: a first record that is bad (reported later by the chunk pass) or lacks
        the `id` field must not decide the field mapping, or every later `id` would be a conflicting column.
        """
        names: dict[str, None] = {}
        with self._source.open() as handle:
            head = handle.read(min(self._chunk_bytes, 8 << 20))
        lines = head.split(b"\n")[:_FIELD_SCAN_LINES]
        for number, line in enumerate(lines, start=1):
            if number == 1:
                line = check_bom(self.path, line, self._encoding)
            if not line.strip():
                continue
            if not is_utf8(self._encoding):
                line = line.decode(self._encoding, errors="replace").encode()
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(value, dict):
                names.update(dict.fromkeys(value))
        return list(names)

    def chunks(self) -> Iterator[JsonlChunk]:
        """Cut each block after its last newline; the cut-off tail starts the next block."""
        lines = LineIndex(self._source)
        with self._source.open() as handle:
            head = handle.read(4)
            pending = check_bom(self.path, head, self._encoding)
            start = len(head) - len(pending)  # offset of `pending` in the (decompressed) file
            consumed = 0  # stored bytes already counted as progress
            while True:
                block = handle.read(self._chunk_bytes)
                data = pending + block
                if not data:
                    return
                cut = data.rfind(b"\n") + 1 if block else len(data)  # at the end: the last line, too
                if cut == 0:  # a line longer than a chunk: read on until it ends
                    pending = data
                    continue
                position = getattr(handle, "raw_position", None)
                done = int(position) if position is not None else start + cut
                yield JsonlChunk(self.path, data[:cut], start, lines, self._encoding, done - consumed,
                                 self._text_field)
                consumed = done
                pending = data[cut:]
                start += cut
