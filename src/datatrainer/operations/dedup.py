"""The `dedup` operation: keep the first record of every duplicate cluster, and record what was removed.

Deciding needs every record, so the input is streamed twice: once through a finder (`dedup.py`) that
sketches batches in parallel threads, and once more to write the kept records, several parts at a time
(Parquet compression is the costliest step, and it releases the GIL). The output version keeps every
column and id of the kept records. Two artifacts record why the others are gone:

- `dropped`: one row per removed record: `id`, `reason` ("near-duplicate (jaccard >= 0.8)"), `kept_id`
  (the record kept in its place), `cluster`, `similarity`;
- `clusters`: every record of every cluster of two or more: `cluster`, `id`, `kept`, `similarity`.

`cluster` is the row number, in the input version, of the cluster's kept record; `similarity` is a
record's exact shingle Jaccard similarity to it (1.0 for exact duplicates). A record joined to a cluster
through another member can be less similar to the kept record than the threshold.
"""

from __future__ import annotations

import math
import tempfile
from collections import deque
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import Field

from datatrainer.engine.local import LocalEngine
from datatrainer.operations.base import Operation, OperationContext
from datatrainer.progress import progress_bar
from datatrainer.quality.dedup import Clusters, Method, MinHashSettings, make_finder
from datatrainer.store.versions import DatasetVersion
from datatrainer.store.writer import VersionWriter

_MIN_BATCH_ROWS = 2_048
CACHE_BUDGET = 256 * 1024 * 1024


class DedupParams(MinHashSettings):
    method: Method = Field("minhash", description="exact (normalised text hash) or minhash (near-duplicates)")

    def recorded(self) -> dict[str, Any]:
        """The parameters that shaped the result (the exact method ignores the MinHash ones)."""
        if self.method == "exact":
            return self.model_dump(mode="json", include={"method", "normalize"})
        return self.model_dump(mode="json")


def _batch_rows(version: DatasetVersion, engine: LocalEngine) -> int:
    """Batches small enough that every thread has work on a small version, and no larger than the engine's."""
    per_thread = math.ceil(version.num_rows / (2 * max(engine.threads, 1)))
    return max(_MIN_BATCH_ROWS, min(engine.batch_size, per_thread))


def _uncompressed_bytes(version: DatasetVersion) -> int:
    """The version's size in memory, as its Parquet footers tell (cheap: no data is read)."""
    total = 0
    for path in version.files:
        metadata = pq.ParquetFile(path).metadata
        total += sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    return total


def find_clusters(version: DatasetVersion, params: DedupParams, engine: LocalEngine,
                  spill_folder: Path | None = None,
                  cache_budget: int = CACHE_BUDGET) -> tuple[Clusters, list[pa.RecordBatch] | None]:
    """Stream a version through the finder for `params.method`. A version that fits in `cache_budget` bytes
    is read whole (all columns) and its batches are returned, so writing the result needs no second read."""
    finder = make_finder(params.method, params, spill_folder)
    cache = _uncompressed_bytes(version) <= cache_budget
    batches: list[pa.RecordBatch] = []
    try:
        streaming = replace(engine, batch_size=_batch_rows(version, engine))
        for sketch, batch in streaming.map_batches(lambda batch: (finder.sketch(batch.column("text")), batch),
                                                   version, columns=None if cache else ["text"],
                                                   description=f"dedup ({params.method}): hashing"):
            finder.add(sketch)
            if cache:
                batches.append(batch)
        return finder.finish(), batches if cache else None
    finally:
        finder.close()


def _parts(batches: list[pa.RecordBatch], count: int) -> list[pa.Table]:
    """Consecutive batches joined (without copying) into `count` parts of about equal rows: the cached
    batches are small so that every thread sketches, but each written part costs a fixed ~2 ms."""
    target = -(-sum(batch.num_rows for batch in batches) // max(count, 1))
    parts: list[list[pa.RecordBatch]] = [[]]
    rows = 0
    for batch in batches:
        if rows >= target:
            parts.append([])
            rows = 0
        parts[-1].append(batch)
        rows += batch.num_rows
    return [pa.Table.from_batches(part) for part in parts if part]


def _write_kept(ctx: OperationContext, source: DatasetVersion, parts: Iterable[pa.Table], clusters: Clusters,
                writer: VersionWriter) -> pa.ChunkedArray:
    """Write the kept records, parts in parallel; return the ids of every row in a cluster of two or more."""
    kept, clustered = clusters.kept, clusters.sizes > 1
    member_ids: list[pa.Array] = []
    engine = ctx.engine
    threads = max(engine.threads, 1)
    pending: deque[tuple[Future[None], int]] = deque()

    def write(sequence: int, part: pa.Table, mask: np.ndarray) -> None:
        writer.write_part(sequence, part.filter(pa.array(mask)))

    with ThreadPoolExecutor(threads) as pool, \
            progress_bar("dedup: writing", source.num_rows, engine.progress) as advance:
        start = 0
        for sequence, part in enumerate(parts):
            stop = start + part.num_rows
            member_ids += part.column("id").filter(pa.array(clustered[start:stop])).chunks
            pending.append((pool.submit(write, sequence, part, kept[start:stop]), part.num_rows))
            start = stop
            while len(pending) > 2 * threads:
                future, rows = pending.popleft()
                future.result()
                advance(rows)
        for future, rows in pending:
            future.result()
            advance(rows)
    return pa.chunked_array(member_ids, source.schema.field("id").type)


def _reasons(params: DedupParams, similarity: np.ndarray) -> pa.Array:
    """Why each dropped record went, in few distinct words so that `datasets dropped` can count them; the
    kept record and the exact similarity are columns of their own."""
    if params.method == "exact":
        return pa.array(["exact duplicate (same normalised text)" if params.normalize else "exact duplicate"]
                        * len(similarity), pa.string())
    direct = pa.array(similarity >= params.threshold)
    return pc.if_else(direct, f"near-duplicate (jaccard >= {params.threshold:g})",
                      f"near-duplicate through another member (jaccard < {params.threshold:g})")


def _artifacts(params: DedupParams, clusters: Clusters, member_ids: pa.ChunkedArray) -> tuple[pa.Table, pa.Table]:
    """(dropped, clusters) tables; `member_ids` are the ids of the clustered rows, in row order."""
    members = np.flatnonzero(clusters.sizes > 1)
    labels = clusters.labels[members]
    kept = labels == members
    similarity = np.round(clusters.similarity[members], 4)
    kept_ids = member_ids.take(pa.array(np.searchsorted(members, labels)))
    order = np.lexsort((members, labels))
    cluster_table = pa.table({
        "cluster": pa.array(labels[order]), "id": member_ids.take(pa.array(order)),
        "kept": pa.array(kept[order]), "similarity": pa.array(similarity[order]),
    })
    gone = pa.array(~kept)
    dropped_table = pa.table({
        "id": member_ids.filter(gone), "reason": _reasons(params, similarity[~kept]),
        "kept_id": kept_ids.filter(gone), "cluster": pa.array(labels[~kept]), "similarity": pa.array(similarity[~kept]),
    })
    return dropped_table, cluster_table


class DedupOperation(Operation[DedupParams]):
    """Remove duplicates: exact (same normalised text) or near (MinHash LSH, checked by exact Jaccard)."""

    name = "dedup"
    params_model = DedupParams

    def run(self, ctx: OperationContext, inputs: Sequence[DatasetVersion], params: DedupParams) -> DatasetVersion:
        (source,) = inputs
        with tempfile.TemporaryDirectory(prefix="dedup-", dir=ctx.workspace.root / "tmp") as spill:
            clusters, cached = find_clusters(source, params, ctx.engine, Path(spill))
        if cached is not None:
            parts: Iterable[pa.Table] = _parts(cached, ctx.engine.threads)
        else:
            batches = source.read_batches(batch_size=_batch_rows(source, ctx.engine))
            parts = (pa.Table.from_batches([batch]) for batch in batches)
        with ctx.workspace.datasets.new_version() as writer:
            member_ids = _write_kept(ctx, source, parts, clusters, writer)
            dropped, cluster_table = _artifacts(params, clusters, member_ids)
            stats = clusters.summary()
            if params.method == "minhash":
                stats["bands"], stats["rows_per_band"] = params.lsh_shape()
            return ctx.publish(writer, self.name, [source], params.recorded(), stats,
                               {"dropped": dropped, "clusters": cluster_table})
