"""The `dedup` operation: keep the first record of every duplicate cluster, and record what was removed.

A staged operation (`operations.staged`): `fit` finds the clusters and decides, by id, which records go;
the engine then applies that decision to every batch (a join on `id`). On an in-process engine the input's
ids and texts stream through a finder (`quality.dedup`) that sketches batches in parallel and keeps the
sketches in memory; on a distributed engine MinHash runs as shuffles on the workers
(`quality.dedup_distributed`), with the same result. The output version keeps every column of the kept
records. Two artifacts record why the others are gone:

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
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from datatrainer.engine.base import Engine
from datatrainer.operations.base import OperationContext
from datatrainer.operations.staged import Decision, StagedOperation
from datatrainer.quality.dedup import Clusters, Method, MinHashSettings, make_finder
from datatrainer.quality.dedup_distributed import distributed_near_duplicates, ids_of_rows
from datatrainer.store.schema import ID, TEXT
from datatrainer.store.versions import DatasetVersion

_MIN_BATCH_ROWS = 2_048


class DedupParams(MinHashSettings):
    method: Method = Field("minhash", description="exact (normalised text hash) or minhash (near-duplicates)")

    def recorded(self) -> dict[str, Any]:
        """The parameters that shaped the result (the exact method ignores the MinHash ones)."""
        if self.method == "exact":
            return self.model_dump(mode="json", include={"method", "normalize"})
        return self.model_dump(mode="json")


def _batch_rows(version: DatasetVersion, engine: Engine) -> int:
    """Batches small enough that every thread has work on a small version, and no larger than the engine's."""
    per_thread = math.ceil(version.num_rows / (2 * max(engine.threads, 1)))
    return max(_MIN_BATCH_ROWS, min(engine.batch_size, per_thread))


def find_clusters(version: DatasetVersion, params: DedupParams, engine: Engine,
                  spill_folder: Path | None = None) -> tuple[Clusters, pa.ChunkedArray]:
    """The clusters for `params.method`, and the ids of the records in clusters of two or more, in version
    order."""
    if params.method == "minhash" and engine.distributed:
        clusters = distributed_near_duplicates(engine, version, params)
        return clusters, ids_of_rows(engine, version, np.flatnonzero(clusters.sizes > 1))
    clusters, ids = _find_in_memory(version, params, engine, spill_folder)
    return clusters, ids.filter(pa.array(clusters.sizes > 1))


def _find_in_memory(version: DatasetVersion, params: DedupParams, engine: Engine,
                    spill_folder: Path | None) -> tuple[Clusters, pa.ChunkedArray]:
    """Stream a version's texts through the finder for `params.method`: the clusters, and every row's id
    in the same (version) order."""
    finder = make_finder(params.method, params, spill_folder)
    ids: list[pa.Array] = []
    try:
        streaming = engine.with_batch_size(_batch_rows(version, engine))
        for sketch, batch_ids in streaming.map_batches(
                lambda batch: (finder.sketch(batch.column(TEXT)), batch.column(ID)), version, columns=[ID, TEXT],
                description=f"dedup ({params.method}): hashing"):
            finder.add(sketch)
            ids.append(batch_ids)
        return finder.finish(), pa.chunked_array(ids, version.schema.field(ID).type)
    finally:
        finder.close()


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


class DedupOperation(StagedOperation[DedupParams]):
    """Remove duplicates: exact (same normalised text) or near (MinHash LSH, checked by exact Jaccard)."""

    name = "dedup"
    params_model = DedupParams

    def fit(self, ctx: OperationContext, source: DatasetVersion, params: DedupParams) -> Decision:
        with tempfile.TemporaryDirectory(prefix="dedup-", dir=ctx.workspace.root / "tmp") as spill:
            clusters, member_ids = find_clusters(source, params, ctx.engine, Path(spill))
        dropped, cluster_table = _artifacts(params, clusters, member_ids)
        stats = clusters.summary()
        if params.method == "minhash":
            stats["bands"], stats["rows_per_band"] = params.lsh_shape()
        return Decision(dropped, params.recorded(), stats, artifacts={"clusters": cluster_table})

    @classmethod
    def example_params(cls, records: Path) -> list[dict[str, Any]]:
        return [{"method": "exact"}, {"method": "minhash", "threshold": 0.8, "num_perm": 64}]
