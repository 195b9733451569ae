"""Many input shards read as one input: in a fixed order, the next few decompressed ahead on threads.

A crawl is thousands of compressed shards; decompressing them one after another on the reading thread would
leave the other cores idle. `ShardedReader` reads up to `ahead` shards at once, each on its own thread into
a small bounded queue, and hands out their chunks strictly in shard order, so the result (which duplicate
id comes first, the part order) never depends on timing, and memory stays bounded.

`read_shard` is the per-shard unit for a distributed engine: a picklable function of a picklable `Shard`.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from datatrainer.io.chunks import Chunk, Reader
from datatrainer.io.errors import ErrorSink, OnError
from datatrainer.io.fs import InputFile

_QUEUE_CHUNKS = 2  # chunks buffered per shard being read ahead
_DONE = object()


@dataclass(frozen=True)
class Shard:
    """Everything needed to read one input file anywhere (a Ray task included)."""

    file: InputFile
    format: str
    text_field: str = "text"
    id_field: str | None = None
    encoding: str = "utf-8"
    chunk_bytes: int = 8 << 20
    on_error: OnError = "fail"


def read_shard(shard: Shard) -> Iterator[pa.RecordBatch]:
    """The records of one shard as Arrow batches (fields as in the file, before the canonical mapping).

    Bad records are reported by the shard's `on_error` policy: "fail" raises a one-line `InputError` naming
    the file and line/record, "skip" leaves them out.
    """
    from datatrainer.io.sources import open_file_reader

    reader = open_file_reader(shard.file, shard.format, text_field=shard.text_field, id_field=shard.id_field,
                              encoding=shard.encoding, chunk_bytes=shard.chunk_bytes)
    sink = ErrorSink(shard.on_error)
    for chunk in reader.chunks():
        yield from chunk.load(sink).table.to_batches()


class ShardedReader:
    """Chains the readers of many shards; see the module docstring."""

    def __init__(self, location: str, shards: list[InputFile], open_one: Callable[[InputFile], Reader],
                 ahead: int = 2) -> None:
        self.path = location
        self._shards = shards
        self._open_one = open_one
        self._ahead = max(1, ahead)
        self._first = open_one(shards[0])
        self.unit = self._first.unit
        self.total = sum(shard.size for shard in shards) if self.unit == "bytes" else 0

    def field_names(self) -> list[str]:
        """The first shard's fields decide the field mapping, as the first records of one file do."""
        return self._first.field_names()

    def chunks(self) -> Iterator[Chunk]:
        stop = threading.Event()
        queues: list[queue.Queue[Any]] = []
        threads: list[threading.Thread] = []

        def start(index: int) -> None:
            q: queue.Queue[Any] = queue.Queue(_QUEUE_CHUNKS)
            reader = self._first if index == 0 else None
            thread = threading.Thread(target=self._fill, args=(index, reader, q, stop), daemon=True,
                                      name=f"shard-{index}")
            queues.append(q)
            threads.append(thread)
            thread.start()

        try:
            for index in range(min(self._ahead, len(self._shards))):
                start(index)
            for index in range(len(self._shards)):
                while True:
                    item = queues[index].get()
                    if item is _DONE:
                        break
                    if isinstance(item, BaseException):
                        raise item
                    yield item
                queues[index] = queue.Queue()  # release what it held
                if index + self._ahead < len(self._shards):
                    start(index + self._ahead)
        finally:
            stop.set()
            for q in queues:  # unblock producers waiting on a full queue
                while not q.empty():
                    q.get_nowait()
            for thread in threads:
                thread.join()

    def _fill(self, index: int, reader: Reader | None, q: queue.Queue[Any], stop: threading.Event) -> None:
        def put(item: Any) -> bool:
            while not stop.is_set():
                try:
                    q.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        try:
            for chunk in (reader or self._open_one(self._shards[index])).chunks():
                if not put(chunk):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consuming thread, which raises it
            put(exc)
