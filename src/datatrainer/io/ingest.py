"""`ingest`: stream a file or folder into a new, immutable dataset version.

Pipeline: the main thread reads raw chunks; a pool of worker threads parses, validates, hashes and writes
them (Arrow, DuckDB and the Parquet writer all release the GIL, so both cores work); the main thread checks
field types and id uniqueness, and reports each chunk's bad records, in input order. At most a few chunks
are in memory at once, so memory is bounded whatever the input size. Nothing is visible until the final
catalog transaction.
"""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, Field

from datatrainer.engine.base import Engine
from datatrainer.errors import InputError
from datatrainer.io.chunks import Chunk
from datatrainer.io.errors import ErrorSink, ProblemLog
from datatrainer.io.fs import has_glob
from datatrainer.io.normalize import FieldMapping, NormalizedChunk, normalize
from datatrainer.io.seen import HashSet64
from datatrainer.io.sources import InputFormat, open_reader
from datatrainer.progress import progress_bar
from datatrainer.store.catalog import validate_dataset_name
from datatrainer.store.location import is_remote
from datatrainer.store.versions import DatasetVersion

if TYPE_CHECKING:
    from datatrainer.workspace import Workspace


# Chunks parsed ahead per worker thread, so no worker waits while the main thread checks the oldest one.
_LOADS_AHEAD = 2


class IngestOptions(BaseModel):
    """How to read the input and map its fields onto the canonical record."""

    text_field: str = "text"
    id_field: str | None = Field(None, description="field holding a stable id; default: 'id' if present, "
                                                   "else a content hash of the text")
    source: str | None = None
    license: str | None = None
    collected_at_field: str | None = None
    on_error: Literal["fail", "skip"] = "fail"
    format: InputFormat = "auto"
    encoding: str = "utf-8"
    split: str | None = None
    chunk_bytes: int = Field(8 << 20, ge=1 << 10, description="input bytes parsed per task")
    part_bytes: int = Field(32 << 20, ge=1 << 10, description="approximate Arrow bytes per Parquet part file")
    threads: int = Field(2, ge=1)


class IngestParams(IngestOptions):
    path: str


def ingest(workspace: Workspace, path: str | Path, name: str, options: IngestOptions,
           engine: Engine | None = None) -> DatasetVersion:
    validate_dataset_name(name)
    started = time.perf_counter()
    reader = open_reader(path, options.format, text_field=options.text_field, id_field=options.id_field,
                         encoding=options.encoding, chunk_bytes=options.chunk_bytes, split=options.split,
                         threads=options.threads)
    fields = reader.field_names()
    id_field = options.id_field or ("id" if "id" in fields else None)
    mapping = FieldMapping(options.text_field, id_field, options.source, options.license,
                           options.collected_at_field)
    sink = ErrorSink(options.on_error)
    show_progress = engine.progress if engine is not None else False
    seen_ids = HashSet64()
    field_types = _FieldTypes()
    input_fields: set[str] = set()  # every field name met in the input, to catch a mistyped field option

    with (workspace.datasets.new_version() as writer,
          ThreadPoolExecutor(options.threads) as pool,
          progress_bar(f"ingest {name}", reader.total or None, show_progress, reader.unit) as advance):
        loading: deque[tuple[Future[tuple[NormalizedChunk, ProblemLog]], Chunk]] = deque()
        writing: deque[Future[None]] = deque()
        part: list[pa.Table] = []
        part_bytes = 0
        sequence = 0

        def flush_part() -> None:
            nonlocal sequence, part_bytes
            if part:
                table = pa.concat_tables(part, promote_options="permissive")
                writing.append(pool.submit(writer.write_part, sequence, table))
                sequence += 1
                part.clear()
                part_bytes = 0
            while len(writing) > options.threads:
                writing.popleft().result()

        def finish_oldest() -> None:
            nonlocal part_bytes
            future, chunk = loading.popleft()
            normalized, problems = future.result()
            if field_types.clashes(normalized.table.schema):
                # Every earlier chunk is admitted now: judge this one's records against their types.
                normalized, problems = _load_and_normalize(chunk, mapping, field_types.schema())
            problems.replay(sink)
            input_fields.update(normalized.source.table.column_names)
            table = _drop_duplicate_ids(field_types.admit(normalized, sink), seen_ids, sink)
            part.append(table)
            part_bytes += table.nbytes
            if part_bytes >= options.part_bytes:
                flush_part()
            advance(chunk.size)

        for chunk in reader.chunks():
            loading.append((pool.submit(_load_and_normalize, chunk, mapping), chunk))
            if len(loading) >= _LOADS_AHEAD * options.threads:
                finish_oldest()
        while loading:
            finish_oldest()
        flush_part()
        for pending in writing:
            pending.result()
        _check_collected_at_field(reader.path, options.collected_at_field, input_fields)
        if writer.row_count == 0:
            # The first problem usually says it all (a wrong --text-field skips every record).
            detail = f" ({sink.count} bad records skipped; the first: {sink.examples[0]})" if sink.count else ""
            raise InputError(reader.path, f"no records to ingest{detail}")
        params = IngestParams(path=_input_name(path), **options.model_dump()).model_dump(mode="json")
        info = writer.commit(
            dataset=name,
            operation="ingest",
            params=params,
            stats={
                "records": writer.row_count,
                "skipped": sink.count,
                "skipped_examples": sink.examples,
                "input_bytes": reader.total if reader.unit == "bytes" else _file_size(path),
                "seconds": round(time.perf_counter() - started, 3),
            },
            also_record=workspace.audit.version_published(),
        )
    return workspace.version(info.ref)


def _input_name(path: str | Path) -> str:
    """How the input is recorded in the version's parameters: an absolute path, or the URL/glob as given."""
    text = str(path)
    return text if is_remote(text) or has_glob(text) else str(Path(text).resolve())


def _file_size(path: str | Path) -> int | None:
    local = Path(path)
    return local.stat().st_size if not is_remote(str(path)) and local.is_file() else None


def _check_collected_at_field(location: str, name: str | None, input_fields: set[str]) -> None:
    """A field no record has is almost surely a typo: without this check every `collected_at` would be
    silently null. (A field that is present but null stays null.)"""
    if name is not None and input_fields and name not in input_fields:
        raise InputError(location, f"no record has the field {name!r} given as --collected-at-field "
                                   f"(fields: {', '.join(sorted(input_fields))})")


def _load_and_normalize(chunk: Chunk, mapping: FieldMapping,
                        earlier: pa.Schema | None = None) -> tuple[NormalizedChunk, ProblemLog]:
    problems = ProblemLog()
    return normalize(chunk.load(problems, earlier), mapping, problems), problems


class _FieldTypes:
    """The type of every field so far, checked chunk by chunk in input order.

    Each chunk is parsed on its own, so a field can be a number in one chunk and an object in a later one;
    Arrow would only fail when the parts are merged, naming no record. Types that widen without loss (null
    to anything, integer to float, a struct gaining fields) are fine. A chunk that clashes is first loaded
    again knowing the earlier types (JSONL then names exactly the records that disagree); whatever still
    clashes is reported for each record with a value in that field, and in skip mode dropped.
    """

    def __init__(self) -> None:
        self._fields: dict[str, pa.Field] = {}

    def schema(self) -> pa.Schema:
        return pa.schema(list(self._fields.values()))

    def clashes(self, schema: pa.Schema) -> bool:
        return any(field.name in self._fields and _merge(self._fields[field.name], field) is None
                   for field in schema)

    def admit(self, chunk: NormalizedChunk, sink: ErrorSink) -> NormalizedChunk:
        table = chunk.table
        bad = np.zeros(table.num_rows, dtype=bool)
        for field in table.schema:
            earlier = self._fields.get(field.name)
            merged = field if earlier is None else _merge(earlier, field)
            if merged is not None:
                self._fields[field.name] = merged
                continue
            assert earlier is not None
            present = pc.is_valid(table[field.name]).to_numpy(zero_copy_only=False) & ~bad
            message = (f"field {field.name!r} is {_kind(field.type)} here but {_kind(earlier.type)} "
                       "in earlier records")
            for row in np.flatnonzero(present):
                sink(chunk.source.locate(int(chunk.rows[row])), message)
            bad |= present
            index = table.schema.get_field_index(field.name)
            table = table.set_column(index, earlier, pa.nulls(table.num_rows, earlier.type))
        if not bad.any():
            return chunk if table is chunk.table else replace(chunk, table=table)
        keep = ~bad
        return replace(chunk, table=table.filter(pa.array(keep)), id_hashes=chunk.id_hashes[keep],
                       rows=chunk.rows[keep])


def _merge(earlier: pa.Field, later: pa.Field) -> pa.Field | None:
    try:
        return pa.unify_schemas([pa.schema([earlier]), pa.schema([later])], promote_options="permissive")[0]
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None


def _kind(type_: pa.DataType) -> str:
    """A type as a JSON user thinks of it (the same words as the line-by-line parser's messages)."""
    if pa.types.is_integer(type_) or pa.types.is_floating(type_):
        return "a number"
    if pa.types.is_struct(type_):
        return f"an object ({type_})"
    if pa.types.is_list(type_) or pa.types.is_large_list(type_):
        return f"an array ({type_})"
    if pa.types.is_boolean(type_):
        return "a boolean"
    if pa.types.is_string(type_) or pa.types.is_large_string(type_):
        return "a string"
    return f"a {type_}"


def _drop_duplicate_ids(chunk: NormalizedChunk, seen: HashSet64, sink: ErrorSink) -> pa.Table:
    """Keep the first record of each id, in input order; later ones are errors (or skipped).

    Ids are compared by 64-bit hash to keep memory at about 8 bytes per record rather than the id strings;
    a false "duplicate" needs a 64-bit collision (odds about 3 in 10^8 at a million records).
    """
    hashes = chunk.id_hashes
    if len(hashes) == 0:
        return chunk.table
    _, first_index = np.unique(hashes, return_index=True)
    duplicate = np.ones(len(hashes), dtype=bool)
    duplicate[first_index] = False
    duplicate |= seen.contains(hashes)
    if not duplicate.any():
        seen.add_new(hashes)
        return chunk.table
    ids = chunk.table["id"]
    for row in np.flatnonzero(duplicate):
        sink(chunk.source.locate(int(chunk.rows[row])), f"duplicate id {ids[int(row)].as_py()!r}")
    seen.add_new(hashes[~duplicate])
    return chunk.table.filter(pa.array(~duplicate))
