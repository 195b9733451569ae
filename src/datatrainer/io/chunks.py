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


class Chunk(Protocol):
    """A piece of input small enough to hold in memory. `load` runs in a worker thread."""

    size: int  # progress units (bytes for files, rows for tabular sources)

    def load(self, sink: ErrorSink, earlier: pa.Schema | None = None) -> LoadedChunk:
        """`earlier`: the merged field types of all earlier chunks. The pipeline passes it when it loads a
        chunk again because the chunk's types clash with them; readers whose types cannot clash ignore it."""
        ...


class Reader(Protocol):
    path: str
    total: int  # progress total, in the same units as Chunk.size
    unit: str

    def field_names(self) -> list[str]:
        """Top-level field names of the first record (or of the schema), to resolve field mappings."""
        ...

    def chunks(self) -> Iterator[Chunk]: ...
