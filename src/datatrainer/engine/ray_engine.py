"""`RayEngine`: the same work as `LocalEngine`, on a Ray cluster (the only module that imports Ray).

A version's batches run as a Ray Data `map_batches` over its parts: one task per stored part, which the
worker reads itself (local disk or object storage) and whose output rows it writes itself through the
`PartSink`; the driver receives only pickled results or part metadata, in stored order. A `shuffle` is
Ray's map/reduce pattern on plain tasks: each map task reads a unit of work and returns one object per
partition (`num_returns`), and each reduce task receives its partition's object from every map task; the
objects stay in the object store (which spills to disk beyond its size) and never reach the driver. Items the driver
hands out (`map_items`, `map_actors`, `reduce`) go through the object store to plain tasks or to a pool of
actors that each build their function once (a scorer loading its model), a GPU each where the cluster has
GPUs; `reduce` merges its partials in a tree of tasks, so only the final value reaches the driver. Tasks
and actors are retried when a worker dies; what still fails surfaces as one line.
"""

from __future__ import annotations

import logging
import os
import pickle  # nosec B403  # Ray ships our own blocks between our own processes
import re
import socket
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, cast

import pyarrow as pa
import ray
import ray.data
import ray.exceptions

from datatrainer.engine.base import A, R, S, T, Written, split_partitions, write_batch
from datatrainer.errors import DatatrainerError
from datatrainer.progress import progress_bar
from datatrainer.store.versions import DatasetVersion
from datatrainer.store.writer import PartMeta, PartSink

#: Part numbers of a written version: batch j of unit of work u becomes part `u * PART_STRIDE + j`, so
#: workers name their parts without asking the driver, and the order is the input's.
PART_STRIDE = 1 << 20
LOCAL_OBJECT_STORE_BYTES = 1 << 30  # the object store of a Ray instance started here (spills to disk beyond)
CONNECT_TIMEOUT_S = 5.0
TASK_RETRIES = 3
_FORWARDED_ENV = ("AWS_", "DATATRAINER_", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


@dataclass
class RayEngine:
    """Runs functions over batches on Ray; `address` None starts a private local Ray instance.

    `address`: `auto` (the cluster this machine belongs to), `host:6379` (a head node's GCS) or
    `ray://host:10001` (Ray Client).
    """

    address: str | None = None
    batch_size: int = 65_536
    progress: bool = False
    num_cpus: int | None = None  # of a local instance (default: all cores)
    object_store_bytes: int = LOCAL_OBJECT_STORE_BYTES  # of a local instance
    _started: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        self._started = connect(self.address, self.num_cpus, self.object_store_bytes)

    @property
    def distributed(self) -> bool:
        return True

    @property
    def threads(self) -> int:
        return max(1, int(ray.cluster_resources().get("CPU", 1)))

    def with_batch_size(self, rows: int) -> RayEngine:
        return replace(self, batch_size=rows)

    def map_batches(self, fn: Callable[[pa.RecordBatch], R], version: DatasetVersion,
                    columns: Sequence[str] | None = None, description: str = "processing") -> Iterator[R]:
        for _, result in self._run_parts(fn, version, columns, None, description):
            yield cast(R, result)

    def map_numbered(self, fn: Callable[[pa.RecordBatch, int], R], version: DatasetVersion,
                     columns: Sequence[str] | None = None, description: str = "processing") -> Iterator[R]:
        for _, result in self._run_parts(fn, version, columns, None, description, numbered=True):
            yield cast(R, result)

    def shuffle(self, emit: Callable[[pa.RecordBatch, int], pa.Table], partitions: int,
                reduce: Callable[[int, pa.Table], R], version: DatasetVersion, columns: Sequence[str] | None = None,
                description: str = "shuffling") -> Iterator[tuple[int, R]]:
        units = _units(version, 2 * self.threads, numbered=True)
        if not units:
            return
        mapper = ray.remote(max_retries=TASK_RETRIES, retry_exceptions=False)(_shuffle_map)
        reducer = ray.remote(max_retries=TASK_RETRIES, retry_exceptions=False)(_shuffle_reduce)
        emit_ref, reduce_ref = ray.put(emit), ray.put(reduce)
        outputs = [mapper.options(num_returns=partitions).remote(
            emit_ref, version, columns, self.batch_size, part, groups, first, partitions)
            for part, groups, first in units]
        shards: list[list[Any]] = [list(out) if partitions > 1 else [out] for out in outputs]
        del outputs

        def submit(part: int) -> Any:
            refs = [shard[part] for shard in shards]
            for shard in shards:  # the reduce task holds its inputs: drop the driver's references
                shard[part] = None
            return reducer.remote(reduce_ref, part, *refs)

        for part, result in enumerate(self._stream(submit, range(partitions), 2 * self.threads,
                                                   f"{description} (reduce)", partitions)):
            if not isinstance(result, _Empty):
                yield part, cast(R, result)

    def write_batches(self, fn: Callable[[pa.RecordBatch], Written[S]], version: DatasetVersion, sink: PartSink,
                      columns: Sequence[str] | None = None,
                      description: str = "processing") -> Iterator[tuple[PartMeta, S]]:
        for _, result in self._run_parts(fn, version, columns, sink, description):
            yield cast(tuple[PartMeta, S], result)

    def map_items(self, fn: Callable[[T], R], items: Iterable[T], description: str = "processing",
                  total: int | None = None) -> Iterator[R]:
        task = ray.remote(max_retries=TASK_RETRIES, retry_exceptions=False)(_call)
        fn_ref = ray.put(fn)
        submit = lambda item: task.remote(fn_ref, item)  # noqa: E731
        yield from self._stream(submit, items, 2 * self.threads, description, total)

    def map_actors(self, factory: Callable[[], Callable[[T], R]], items: Iterable[T], *,
                   concurrency: int | None = None, num_gpus: float | None = None,
                   description: str = "processing") -> Iterator[R]:
        gpus = float(ray.cluster_resources().get("GPU", 0))
        per_actor = num_gpus if num_gpus is not None else (1.0 if gpus else 0.0)
        size = concurrency or (max(1, int(gpus // per_actor)) if per_actor else self.threads)
        actor_class = ray.remote(num_cpus=1, num_gpus=per_actor, max_restarts=2, max_task_retries=2)(_Actor)
        actors = [actor_class.remote(factory) for _ in range(size)]
        turn = iter(range(1 << 62))
        submit = lambda item: actors[next(turn) % size].run.remote(item)  # noqa: E731
        try:
            yield from self._stream(submit, items, 2 * size, description, None)
        finally:
            for actor in actors:
                ray.kill(actor)

    def reduce(self, fn: Callable[[T], A], merge: Callable[[A, A], A], items: Iterable[T],
               description: str = "processing") -> A | None:
        """Partials merged on the workers, two at a time as they finish (a tree), so that only the final
        value reaches the driver; at most `2 * threads` tasks (and their items) in flight."""
        task = ray.remote(max_retries=TASK_RETRIES, retry_exceptions=False)(_call)
        combine = ray.remote(max_retries=TASK_RETRIES, retry_exceptions=False)(_merge_pair)
        fn_ref, merge_ref = ray.put(fn), ray.put(merge)
        remaining = iter(items)
        running: list[Any] = []
        finished: list[Any] = []
        exhausted = False
        with _errors(description):
            while True:
                while not exhausted and len(running) < 2 * self.threads:
                    item = next(remaining, _NO_ITEM)
                    if item is _NO_ITEM:
                        exhausted = True
                        break
                    running.append(task.remote(fn_ref, item))
                if not running:
                    return cast(A, ray.get(finished[0])) if finished else None
                ready, running = ray.wait(running, num_returns=1)
                finished.extend(ready)
                while len(finished) >= 2:
                    running.append(combine.remote(merge_ref, finished.pop(), finished.pop()))

    def close(self) -> None:
        if self._started and ray.is_initialized():
            ray.shutdown()
        self._started = False

    def _run_parts(self, fn: Callable[..., Any], version: DatasetVersion,
                   columns: Sequence[str] | None, sink: PartSink | None,
                   description: str, numbered: bool = False) -> Iterator[tuple[int, Any]]:
        """(part number, result) of every batch of every part, computed and (with a sink) written on the
        workers, in stored order; `numbered` passes each batch's first row number to `fn`."""
        units = _units(version, 2 * self.threads, numbered)
        if not units:
            return
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        dataset = ray.data.from_items([{"unit": index, "part": part, "row_groups": groups, "first": first}
                                       for index, (part, groups, first) in enumerate(units)],
                                      override_num_blocks=len(units))
        with warnings.catch_warnings():  # Ray Data retries a task whose worker died forever unless told
            warnings.simplefilter("ignore", DeprecationWarning)
            mapped = dataset.map_batches(
                _run_units, batch_size=1, batch_format="pyarrow", zero_copy_batch=True, max_retries=TASK_RETRIES,
                fn_kwargs={"work": fn, "version": version, "columns": columns,
                           "batch_size": self.batch_size, "sink": sink, "numbered": numbered},
            )
        with _errors(description), progress_bar(description, version.num_rows, self.progress) as advance:
            for block in mapped.iter_batches(batch_size=None, batch_format="pyarrow", prefetch_batches=1):
                for sequence, rows, payload in zip(block["seq"].to_pylist(), block["rows"].to_pylist(),
                                                   block["result"].to_pylist(), strict=True):
                    result = pickle.loads(payload)  # nosec B301  # Ray ships our own blocks between our own processes
                    if isinstance(result, _Failure):
                        raise DatatrainerError(result.message)
                    yield sequence, result
                    advance(rows)

    def _stream(self, submit: Callable[[T], Any], items: Iterable[T], in_flight: int, description: str,
                total: int | None) -> Iterator[Any]:
        """Submit items as earlier ones finish, keeping `in_flight` running; yield results in input order."""
        pending: list[Any] = []
        with _errors(description), progress_bar(description, total, self.progress and total is not None,
                                                unit="items") as advance:
            for item in items:
                pending.append(submit(item))
                if len(pending) >= in_flight:
                    yield ray.get(pending.pop(0))
                    advance(1)
            for ref in pending:
                yield ray.get(ref)
                advance(1)


@dataclass(frozen=True)
class _Failure:
    """A user error raised by a worker's function, returned instead of raised so its message survives."""

    message: str


@dataclass(frozen=True)
class _Empty:
    """What a shuffle's reduce task returns for a partition that received no rows."""


class _Actor:
    """One pool member: builds its function once (loading a model), then runs it on each item."""

    def __init__(self, factory: Callable[[], Callable[[Any], Any]]) -> None:
        self.fn = factory()

    def run(self, item: Any) -> Any:
        return self.fn(item)


def _call(fn: Callable[[T], R], item: T) -> R:
    return fn(item)


def _merge_pair(merge: Callable[[A, A], A], first: A, second: A) -> A:
    return merge(first, second)


_NO_ITEM = object()


def _run_units(units: pa.Table, *, work: Callable[..., Any], version: DatasetVersion,
               columns: Sequence[str] | None, batch_size: int, sink: PartSink | None, numbered: bool) -> pa.Table:
    """The Ray Data function: read each unit's part, run `work` on its batches (with each batch's first row
    number when `numbered`), write them with `sink`."""
    sequences: list[int] = []
    rows: list[int] = []
    payloads: list[bytes] = []
    for unit, part, groups, first in zip(units["unit"].to_pylist(), units["part"].to_pylist(),
                                         units["row_groups"].to_pylist(), units["first"].to_pylist(), strict=True):
        for index, batch in enumerate(version.read_part_batches(part, columns, batch_size, groups)):
            sequence = unit * PART_STRIDE + index
            result: Any
            try:
                if sink is not None:
                    result = write_batch(work, sink, sequence, batch)
                else:
                    result = work(batch, first) if numbered else work(batch)
            except DatatrainerError as exc:  # Ray Data drops the cause of what a task raises: carry it back
                result = _Failure(str(exc))
            first += batch.num_rows
            sequences.append(sequence)
            rows.append(batch.num_rows)
            payloads.append(pickle.dumps(result, protocol=5))
            if isinstance(result, _Failure):
                break
    return pa.table({"seq": pa.array(sequences, pa.int64()), "rows": pa.array(rows, pa.int64()),
                     "result": pa.array(payloads, pa.large_binary())})


def _units(version: DatasetVersion, wanted: int, numbered: bool = False) -> list[tuple[int, list[int] | None, int]]:
    """Units of work, in stored order: (part, row groups or None for all, version row number of the unit's
    first row). Whole parts when there are `wanted` of them; otherwise parts are split by row group (65,536
    rows each), so that a version stored as one big part still spreads over the workers. Row numbers need
    every part's footer, so they are read only when `numbered` (else -1)."""
    parts = len(version.files)
    if parts >= wanted and not numbered:
        return [(part, None, -1) for part in range(parts)]
    units: list[tuple[int, list[int] | None, int]] = []
    first = 0
    for part in range(parts):
        metadata = version.open_part(part).metadata
        if parts >= wanted:
            units.append((part, None, first))
            first += metadata.num_rows
            continue
        for group in range(metadata.num_row_groups):
            units.append((part, [group], first if numbered else -1))
            first += metadata.row_group(group).num_rows
    return units


def _shuffle_map(emit: Callable[[pa.RecordBatch, int], pa.Table], version: DatasetVersion,
                 columns: Sequence[str] | None, batch_size: int, part: int, groups: list[int] | None, first: int,
                 partitions: int) -> Any:
    """A shuffle's map task: the rows emitted from one unit of work, one table per partition (or None)."""
    emitted = []
    for batch in version.read_part_batches(part, columns, batch_size, groups):
        emitted.append(emit(batch, first))
        first += batch.num_rows
    if not emitted:
        pieces: list[pa.Table | None] = [None] * partitions
    else:
        pieces = list(split_partitions(pa.concat_tables(emitted), partitions))
    return pieces if partitions > 1 else pieces[0]


def _shuffle_reduce(reduce: Callable[[int, pa.Table], Any], part: int, *pieces: pa.Table | None) -> Any:
    """A shuffle's reduce task: `reduce` of one partition's rows from every map task."""
    present = [piece for piece in pieces if piece is not None and piece.num_rows]
    if not present:
        return _Empty()
    return reduce(part, pa.concat_tables(present))


def connect(address: str | None, num_cpus: int | None = None,
            object_store_bytes: int = LOCAL_OBJECT_STORE_BYTES) -> bool:
    """Join the cluster at `address`, or start a local instance; returns whether one was started here (a
    process already connected to Ray keeps its connection).

    Checks the address with a short TCP probe first, so an unreachable cluster is one line within seconds
    instead of Ray's minute of retries.
    """
    if address is not None:
        _probe(address)
    if ray.is_initialized():
        return False
    logging.getLogger("ray").setLevel(logging.WARNING)
    logging.getLogger("ray.data").setLevel(logging.CRITICAL)  # failures surface as our one line
    options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING,
                               "configure_logging": False}
    if address is None:
        folder = os.path.join(tempfile.gettempdir(), f"datatrainer-ray-{os.getuid()}")
        options.update(num_cpus=num_cpus, object_store_memory=object_store_bytes, _temp_dir=folder)
    else:
        env = {key: value for key, value in os.environ.items() if key.startswith(_FORWARDED_ENV)}
        options.update(address=address, runtime_env={"env_vars": env} if env else None)
    try:
        ray.init(**options)
    except ConnectionError as exc:
        raise DatatrainerError(f"cannot reach a Ray cluster at {address!r}: {_first_line(exc)}") from None
    except RuntimeError as exc:
        mismatch = _version_mismatch(address, exc)
        if mismatch is None:
            raise
        if ray.is_initialized():
            ray.shutdown()
        raise DatatrainerError(mismatch) from None
    return True


def _version_mismatch(address: str | None, exc: RuntimeError) -> str | None:
    """One line for Ray's version check (`Version mismatch: The cluster was started with: Ray: ... Python: ...
    This process ... was started with: Ray: ... Python: ...`), or None for another error."""
    text = str(exc)
    if "version mismatch" not in text.lower():
        return None
    found = {name: re.findall(rf"{name}: (\S+)", text) for name in ("Ray", "Python")}
    if len(found["Ray"]) != 2 or len(found["Python"]) != 2:
        return f"Ray version mismatch with the cluster at {address!r}: {_first_line(exc)}"
    (cluster_ray, mine_ray), (cluster_python, mine_python) = found["Ray"], found["Python"]
    return (f"Ray version mismatch with the cluster at {address!r}: it runs Ray {cluster_ray} on Python "
            f"{cluster_python}, this process Ray {mine_ray} on Python {mine_python}; install the cluster's "
            f"versions here (pip install 'ray[data]=={cluster_ray}')")


def _probe(address: str) -> None:
    """A TCP connection to `host:port` (or `ray://host:port`) within `CONNECT_TIMEOUT_S`; `auto` is not probed."""
    target = address.removeprefix("ray://")
    if address == "auto" or ":" not in target:
        return
    host, _, port = target.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S):
            return
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
        raise DatatrainerError(f"cannot reach a Ray cluster at {address!r}: {reason}") from None


@contextmanager
def _errors(description: str) -> Iterator[None]:
    """Turn what a worker raised into one line: the user's own errors as they were raised, out-of-memory and
    lost workers as a sentence naming the step."""
    try:
        yield
    except DatatrainerError:
        raise
    except Exception as exc:
        user = _cause(exc, DatatrainerError)
        if user is not None:
            raise DatatrainerError(str(user).splitlines()[0]) from None
        if _cause(exc, ray.exceptions.OutOfMemoryError) is not None or _mentions(exc, "OutOfMemoryError"):
            raise DatatrainerError(f"{description}: a Ray worker ran out of memory; use smaller batches "
                                   "(--batch-rows, default 65536) or give the workers more memory") from None
        lost = (ray.exceptions.WorkerCrashedError, ray.exceptions.ActorDiedError, ray.exceptions.ObjectLostError,
                ray.exceptions.NodeDiedError)
        if _cause(exc, lost) is not None:
            raise DatatrainerError(f"{description}: a Ray worker died and retries did not recover it "
                                   f"({_first_line(exc)}); nothing was published") from None
        raise


def _cause(exc: BaseException, kind: type[BaseException] | tuple[type[BaseException], ...]) -> BaseException | None:
    """The first exception of `kind` in the chain: causes, contexts and Ray's wrapped `cause`."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        inner = getattr(current, "cause", None)
        if isinstance(current, kind):
            original = inner if isinstance(inner, kind) else current
            return original
        current = inner if isinstance(inner, BaseException) else (current.__cause__ or current.__context__)
    return None


def _mentions(exc: BaseException, name: str) -> bool:
    """Whether an exception of the chain names `name` in its text: Ray Data re-raises a worker's failure as
    its own exception with the original only in the traceback text, not as a cause."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if name in str(current):
            return True
        inner = getattr(current, "cause", None)
        current = inner if isinstance(inner, BaseException) else (current.__cause__ or current.__context__)
    return False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
