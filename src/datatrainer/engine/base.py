"""The `Engine` protocol: the one seam between what an operation computes and where it runs.

Operations and scoring jobs describe work as plain functions of an Arrow batch (or of one item the driver
hands out) and let the engine run them: `LocalEngine` in this process on threads, `RayEngine` on a Ray
cluster. Everything passed to an engine must therefore pickle (functions, closures and their captures travel
to worker processes on Ray), and must not depend on running in the driver. Every method returns results in
input order, so both engines give the same output for the same input.

- `map_batches`: a function of each record batch of a version, results back to the driver. For small
  outputs (statistics, signatures, decisions keyed by id), never for the rows of a new version.
  `map_numbered` is the same with each batch's first row number in the version (to key per-row state by
  row, e.g. which record of a duplicate cluster comes first).
- `shuffle`: rows emitted from every batch, routed by a `partition` column, then one function per
  partition: a group-by whose data moves between the workers, never through the driver (dedup's band keys).
- `write_batches`: rows of a new version, written by the workers themselves through a `PartSink` (the new
  version's staging location); only each part's metadata comes back, and the driver commits.
- `map_items`: a function of items the driver produces (arrays, tables); stateless tasks.
- `map_actors`: a function built once per worker by `factory` (a scorer that loads a model), then called on
  each item; a pool of `concurrency` workers, `num_gpus` each where the cluster has GPUs.
- `reduce`: mergeable sketches (RACE density counts, ...): one partial per item, merged pairwise (on Ray,
  on the workers, so only the final value reaches the driver).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Generic, Protocol, TypeVar

import numpy as np
import pyarrow as pa

from datatrainer.store.versions import DatasetVersion
from datatrainer.store.writer import PartMeta, PartSink

R = TypeVar("R")
S = TypeVar("S")
T = TypeVar("T")
A = TypeVar("A")
M = TypeVar("M")

#: The column of an emitted row (`Engine.shuffle`) that names its partition (int32, 0 <= p < partitions).
PARTITION = "partition"

#: What a writing function returns for one batch: the rows to store, and a small side result (e.g. the
#: dropped ids) that goes back to the driver.
Written = tuple[pa.Table, S]


class Engine(Protocol):
    """Where batch work runs; see the module docstring for what each method is for."""

    @property
    def progress(self) -> bool:
        """Whether to show progress bars."""
        ...

    @property
    def distributed(self) -> bool:
        """Whether the functions run in other processes (or machines) than the driver. Whole-dataset state
        (dedup's per-record sketches, density's bucket ids) then has to move through `shuffle` and `reduce`
        instead of being gathered in the driver's memory, which is the fastest way on one machine."""
        ...

    @property
    def threads(self) -> int:
        """How many batches run at once (local threads; on Ray, the cluster's CPUs): callers size batches so
        that every worker has some."""
        ...

    @property
    def batch_size(self) -> int:
        """Most rows per batch read from a version."""
        ...

    def with_batch_size(self, rows: int) -> Engine:
        """The same engine reading batches of at most `rows` rows."""
        ...

    def map_batches(self, fn: Callable[[pa.RecordBatch], R], version: DatasetVersion,
                    columns: Sequence[str] | None = None, description: str = "processing") -> Iterator[R]:
        """`fn` of every record batch of the version, in stored order."""
        ...

    def map_numbered(self, fn: Callable[[pa.RecordBatch, int], R], version: DatasetVersion,
                     columns: Sequence[str] | None = None, description: str = "processing") -> Iterator[R]:
        """`fn(batch, first)` of every record batch, `first` being the version row number of its first row,
        in stored order."""
        ...

    def shuffle(self, emit: Callable[[pa.RecordBatch, int], pa.Table], partitions: int,
                reduce: Callable[[int, pa.Table], R], version: DatasetVersion, columns: Sequence[str] | None = None,
                description: str = "shuffling") -> Iterator[tuple[int, R]]:
        """A group-by over the workers: `emit(batch, first)` (as `map_numbered`) makes rows with a `PARTITION`
        column; every row goes to its partition, and `(p, reduce(p, rows of p without that column))` comes
        back for each partition that received rows, in partition order. Rows never pass through the driver."""
        ...

    def write_batches(self, fn: Callable[[pa.RecordBatch], Written[S]], version: DatasetVersion, sink: PartSink,
                      columns: Sequence[str] | None = None,
                      description: str = "processing") -> Iterator[tuple[PartMeta, S]]:
        """Rows `fn` makes of every batch, stored by the worker through `sink`; yields each part's metadata
        (for `VersionWriter.adopt`) and the side result, in stored order."""
        ...

    def map_items(self, fn: Callable[[T], R], items: Iterable[T], description: str = "processing",
                  total: int | None = None) -> Iterator[R]:
        """`fn` of every item, in order; at most a few items are held at once."""
        ...

    def map_actors(self, factory: Callable[[], Callable[[T], R]], items: Iterable[T], *,
                   concurrency: int | None = None, num_gpus: float | None = None,
                   description: str = "processing") -> Iterator[R]:
        """`factory()` once per worker, then the function it returns on every item, in order. `num_gpus`
        per worker: None means one where the cluster has GPUs, none elsewhere."""
        ...

    def reduce(self, fn: Callable[[T], A], merge: Callable[[A, A], A], items: Iterable[T],
               description: str = "processing") -> A | None:
        """`merge` of `fn` of every item (None when there are none). `merge` must be associative and
        commutative: partials may be merged in any order, on any worker."""
        ...

    def close(self) -> None:
        """Release what the engine started (a local Ray instance)."""
        ...


def merge_all(partials: Iterable[A], merge: Callable[[A, A], A]) -> A | None:
    """Fold partials as they arrive, holding one accumulated value (the driver side of `reduce`)."""
    total: A | None = None
    for partial in partials:
        total = partial if total is None else merge(total, partial)
    return total


def split_partitions(rows: pa.Table, partitions: int) -> list[pa.Table]:
    """The emitted `rows` of one batch (or unit of work) split by their `PARTITION` column, which is dropped:
    one table per partition, in emitted order within each (the map side of `Engine.shuffle`)."""
    part = np.asarray(rows[PARTITION].to_numpy(), dtype=np.int64)
    if part.size and (part.min() < 0 or part.max() >= partitions):
        raise ValueError(f"shuffle: partition numbers must lie in [0, {partitions})")
    order = np.argsort(part, kind="stable")
    bounds = np.searchsorted(part[order], np.arange(partitions + 1))
    ordered = rows.drop_columns([PARTITION]).take(pa.array(order))
    return [ordered.slice(bounds[p], bounds[p + 1] - bounds[p]) for p in range(partitions)]


def write_batch(fn: Callable[[pa.RecordBatch], Written[S]], sink: PartSink, sequence: int,
                    batch: pa.RecordBatch) -> tuple[PartMeta, S]:
    """Run a writing function on one batch and store its rows as part `sequence` (on whichever worker)."""
    table, side = fn(batch)
    return sink.write(sequence, table), side


class Reusable(Generic[M]):
    """A model for `map_actors` factories: the instance already loaded in this process is reused here (the
    local engine loads nothing twice), and a worker elsewhere loads its own with `load`; the loaded model
    itself never travels (pickling drops it)."""

    def __init__(self, load: Callable[[], M], loaded: M | None = None) -> None:
        self.load = load
        self._loaded = loaded

    def get(self) -> M:
        if self._loaded is None:
            self._loaded = self.load()
        return self._loaded

    def __getstate__(self) -> dict[str, Any]:
        return {"load": self.load, "_loaded": None}
