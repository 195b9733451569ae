"""The unit readers hand to the ingest pipeline: a chunk of input that loads into an Arrow table."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import pyarrow as pa

from datatrainer.io.errors import ErrorSink

# Maps a row position inside a loaded chunk to a human location such as "data.jsonl:1234".
Locator = Callable[[int], str]


@dataclass
class LoadedChunk:
    table: pa.Table
    locate: Locator


class NeedsEarlierTypes(Exception):
    """Raised by `Chunk.load` (before reporting anything) when the chunk can only tell its bad records apart
    knowing the field types of the chunks before it; the pipeline loads it again, in order, with them."""


class Chunk(Protocol):
    """A piece of input small enough to hold in memory. `load` runs in a worker thread."""

    size: int  # progress units (bytes for files, rows for tabular sources)

    def load(self, sink: ErrorSink, earlier: pa.Schema | None = None) -> LoadedChunk:
        """`earlier`: the merged field types of all earlier chunks, given when retrying after
        `NeedsEarlierTypes`; chunks that cannot raise it ignore it."""
        ...


class Reader(Protocol):
    path: str
    total: int  # progress total, in the same units as Chunk.size
    unit: str

    def field_names(self) -> list[str]:
        """Top-level field names of the first record (or of the schema), to resolve field mappings."""
        ...

    def chunks(self) -> Iterator[Chunk]: ...
