"""Whole-dataset operations (dedup, sample) in two stages: fit a decision keyed by `id`, apply it per batch.

Deciding which rows go needs every row (a duplicate cluster spans the whole version, a budget is a share
of all of it), but writing the result does not: `fit` reads what it needs and returns a `Decision`, the
dropped ids with their reasons; `apply` then filters each batch by joining its ids against the decision.
Rows are matched by id, never by position, so the batches may be read in any split or order, on any
engine (the decision is small enough to ship to every worker: one id per kept or dropped row, whichever
side is smaller).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from datatrainer.operations.base import Operation, OperationContext, P
from datatrainer.store.schema import ID
from datatrainer.store.versions import DatasetVersion


@dataclass(frozen=True)
class Decision:
    """What a whole-dataset operation decided.

    - `dropped`: one row per removed record, with at least `id` and `reason` (more columns are kept, e.g.
      the id of the record kept in its place); stored as the version's `dropped` artifact;
    - `kept`: the ids of the kept records;
    - `params` and `stats`: recorded with the version; `artifacts`: other side tables (dedup's `clusters`).
    """

    dropped: pa.Table
    kept: pa.Array
    params: Mapping[str, Any]
    stats: Mapping[str, Any]
    artifacts: Mapping[str, pa.Table] = field(default_factory=dict)

    @cached_property
    def _lookup(self) -> tuple[pa.Array, bool]:
        """The smaller id set, and whether it is the kept one (hashing it is each batch's cost)."""
        if len(self.kept) <= self.dropped.num_rows:
            return self.kept, True
        return self.dropped[ID].combine_chunks(), False

    def keep_mask(self, ids: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
        """True for the ids the decision keeps."""
        values, are_kept = self._lookup
        found = pc.is_in(ids, value_set=values)
        return found if are_kept else pc.invert(found)


class StagedOperation(Operation[P]):
    """An operation on one input that keeps a subset of its rows, chosen by looking at all of them.

    Subclasses implement `fit`; reading, applying per batch on the engine, writing and publishing (with the
    `dropped` artifact) come from here.
    """

    @abstractmethod
    def fit(self, ctx: OperationContext, source: DatasetVersion, params: P) -> Decision:
        """Decide, from the whole input, which ids to drop and why."""

    def apply(self, batch: pa.RecordBatch, decision: Decision) -> pa.Table:
        """The batch's rows that the decision keeps, every column unchanged."""
        return pa.Table.from_batches([batch.filter(decision.keep_mask(batch.column(ID)))], schema=batch.schema)

    def run(self, ctx: OperationContext, inputs: Sequence[DatasetVersion], params: P) -> DatasetVersion:
        (source,) = inputs
        decision = self.fit(ctx, source, params)
        with ctx.workspace.datasets.new_version() as writer:
            # The decision travels to the workers, which write the kept rows as parts themselves.
            written = ctx.engine.write_batches(lambda batch: (self.apply(batch, decision), None), source,
                                               writer.sink(), description=f"{self.name}: writing")
            writer.adopt(meta for meta, _ in written)
            return ctx.publish(writer, self.name, [source], decision.params, decision.stats,
                               {"dropped": decision.dropped, **decision.artifacts})
