"""The in-process engine: stream a version's record batches (or the driver's items) through a function."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial

import pyarrow as pa

from datatrainer.engine.base import A, R, S, T, Written, merge_all, split_partitions, write_batch
from datatrainer.progress import progress_bar
from datatrainer.store.versions import DatasetVersion
from datatrainer.store.writer import PartMeta, PartSink


@dataclass
class LocalEngine:
    """Runs functions over batches in this process, keeping at most `2 * threads` batches in memory.

    `threads` > 1 overlaps batches; Arrow, DuckDB and NumPy release the GIL, so functions built from them run
    in parallel on all cores. Results come back in input order either way.
    """

    threads: int = 2
    batch_size: int = 65_536
    progress: bool = False

    @property
    def distributed(self) -> bool:
        return False

    def with_batch_size(self, rows: int) -> LocalEngine:
        return replace(self, batch_size=rows)

    def map_batches(self, fn: Callable[[pa.RecordBatch], R], version: DatasetVersion,
                    columns: Sequence[str] | None = None, description: str = "processing") -> Iterator[R]:
        batches = version.read_batches(columns, batch_size=self.batch_size)
        with progress_bar(description, version.num_rows, self.progress) as advance:
            for batch, result in self._ordered(fn, batches, self.threads):
                yield result
                advance(batch.num_rows)

    def map_numbered(self, fn: Callable[[pa.RecordBatch, int], R], version: DatasetVersion,
                     columns: Sequence[str] | None = None, description: str = "processing") -> Iterator[R]:
        with progress_bar(description, version.num_rows, self.progress) as advance:
            for (_, batch), result in self._ordered(lambda item: fn(item[1], item[0]),
                                                    _numbered(version, columns, self.batch_size), self.threads):
                yield result
                advance(batch.num_rows)

    def shuffle(self, emit: Callable[[pa.RecordBatch, int], pa.Table], partitions: int,
                reduce: Callable[[int, pa.Table], R], version: DatasetVersion, columns: Sequence[str] | None = None,
                description: str = "shuffling") -> Iterator[tuple[int, R]]:
        """Partitions gathered in this process's memory (the in-process engine has no other place)."""
        gathered: list[list[pa.Table]] = [[] for _ in range(partitions)]
        split = lambda batch, first: split_partitions(emit(batch, first), partitions)  # noqa: E731
        for pieces in self.map_numbered(split, version, columns, description):
            for part, piece in enumerate(pieces):
                if piece.num_rows:
                    gathered[part].append(piece)
        filled = [(part, pa.concat_tables(pieces)) for part, pieces in enumerate(gathered) if pieces]
        for (part, _), result in self._ordered(lambda item: reduce(*item), filled, self.threads):
            yield part, result

    def write_batches(self, fn: Callable[[pa.RecordBatch], Written[S]], version: DatasetVersion, sink: PartSink,
                      columns: Sequence[str] | None = None,
                      description: str = "processing") -> Iterator[tuple[PartMeta, S]]:
        numbered = enumerate(version.read_batches(columns, batch_size=self.batch_size))
        with progress_bar(description, version.num_rows, self.progress) as advance:
            for (_, batch), result in self._ordered(lambda item: write_batch(fn, sink, *item), numbered,
                                                    self.threads):
                yield result
                advance(batch.num_rows)

    def map_items(self, fn: Callable[[T], R], items: Iterable[T], description: str = "processing",
                  total: int | None = None) -> Iterator[R]:
        with progress_bar(description, total, self.progress and total is not None, unit="items") as advance:
            for _, result in self._ordered(fn, items, self.threads):
                yield result
                advance(1)

    def map_actors(self, factory: Callable[[], Callable[[T], R]], items: Iterable[T], *,
                   concurrency: int | None = None, num_gpus: float | None = None,
                   description: str = "processing") -> Iterator[R]:
        """One instance in this process (a model uses every core by itself), called on each item in turn."""
        fn = factory()
        for item in items:
            yield fn(item)

    def reduce(self, fn: Callable[[T], A], merge: Callable[[A, A], A], items: Iterable[T],
               description: str = "processing") -> A | None:
        return merge_all(self.map_items(fn, items, description), merge)

    def close(self) -> None:
        return None

    @staticmethod
    def _ordered(fn: Callable[[T], R], items: Iterable[T], threads: int) -> Iterator[tuple[T, R]]:
        """(item, fn(item)) in input order, with up to `2 * threads` items in flight."""
        if threads <= 1:
            for item in items:
                yield item, fn(item)
            return
        with ThreadPoolExecutor(threads) as pool:
            pending: list[tuple[T, Future[R]]] = []
            for item in items:
                pending.append((item, pool.submit(partial(fn, item))))
                if len(pending) >= threads * 2:
                    done, future = pending.pop(0)
                    yield done, future.result()
            for done, future in pending:
                yield done, future.result()


def _numbered(version: DatasetVersion, columns: Sequence[str] | None,
              batch_size: int) -> Iterator[tuple[int, pa.RecordBatch]]:
    """(first row number, batch) of every batch of the version, in stored order."""
    first = 0
    for batch in version.read_batches(columns, batch_size=batch_size):
        yield first, batch
        first += batch.num_rows
