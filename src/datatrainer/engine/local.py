"""The in-process engine: stream a version's record batches through a function, with progress."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import pyarrow as pa

from datatrainer.progress import progress_bar
from datatrainer.store.versions import DatasetVersion

R = TypeVar("R")


@dataclass
class LocalEngine:
    """Runs `fn` over every record batch of a version, keeping at most `max_in_flight` batches in memory.

    `threads` > 1 overlaps batches; Arrow, DuckDB and NumPy release the GIL, so functions built from them run
    in parallel on all cores. Results come back in the version's order either way.
    """

    threads: int = 2
    batch_size: int = 65_536
    progress: bool = False

    def map_batches(
        self,
        fn: Callable[[pa.RecordBatch], R],
        version: DatasetVersion,
        columns: Sequence[str] | None = None,
        description: str = "processing",
    ) -> Iterator[R]:
        batches = version.read_batches(columns, batch_size=self.batch_size)
        with progress_bar(description, version.num_rows, self.progress) as advance:
            if self.threads <= 1:
                for batch in batches:
                    yield fn(batch)
                    advance(batch.num_rows)
                return
            with ThreadPoolExecutor(self.threads) as pool:
                pending: list[tuple[Future[R], int]] = []
                for batch in batches:
                    pending.append((pool.submit(fn, batch), batch.num_rows))
                    if len(pending) >= self.threads * 2:
                        future, rows = pending.pop(0)
                        yield future.result()
                        advance(rows)
                for future, rows in pending:
                    yield future.result()
                    advance(rows)
