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
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from datatrainer.operations.base import Operation, OperationContext, P
from datatrainer.store.schema import ID
from datatrainer.store.versions import DatasetVersion


@dataclass(frozen=True)
class IdFilter:
    """What each batch needs of a decision: one set of ids, and whether it lists the kept or the dropped
    ones (whichever is smaller, since hashing it is each batch's cost and it travels to every worker)."""

    ids: pa.Array
    listed_are_kept: bool

    def keep_mask(self, ids: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
        """True for the ids the decision keeps."""
        found = pc.is_in(ids, value_set=self.ids)
        return found if self.listed_are_kept else pc.invert(found)

    def apply(self, batch: pa.RecordBatch) -> pa.Table:
        """The batch's kept rows, every column unchanged."""
        return pa.Table.from_batches([batch.filter(self.keep_mask(batch.column(ID)))], schema=batch.schema)


@dataclass(frozen=True)
class Decision:
    """What a whole-dataset operation decided.

    - `dropped`: one row per removed record, with at least `id` and `reason` (more columns are kept, e.g.
      the id of the record kept in its place); stored as the version's `dropped` artifact;
    - `kept`: the ids of the kept records, when the operation has them at hand and they may be fewer than
      the dropped ones (a small sample of a large version); None otherwise;
    - `params` and `stats`: recorded with the version; `artifacts`: other side tables (dedup's `clusters`).
    """

    dropped: pa.Table
    params: Mapping[str, Any]
    stats: Mapping[str, Any]
    kept: pa.Array | None = None
    artifacts: Mapping[str, pa.Table] = field(default_factory=dict)

    def id_filter(self) -> IdFilter:
        if self.kept is not None and len(self.kept) <= self.dropped.num_rows:
            return IdFilter(self.kept, listed_are_kept=True)
        return IdFilter(self.dropped[ID].combine_chunks(), listed_are_kept=False)


class StagedOperation(Operation[P]):
    """An operation on one input that keeps a subset of its rows, chosen by looking at all of them.

    Subclasses implement `fit`; applying the decision per batch on the engine (`IdFilter.apply`), writing and
    publishing (with the `dropped` artifact) come from here.
    """

    @abstractmethod
    def fit(self, ctx: OperationContext, source: DatasetVersion, params: P) -> Decision:
        """Decide, from the whole input, which ids to drop and why."""

    def run(self, ctx: OperationContext, inputs: Sequence[DatasetVersion], params: P) -> DatasetVersion:
        (source,) = inputs
        decision = self.fit(ctx, source, params)
        apply = decision.id_filter().apply  # only the ids travel to the workers, not the artifacts
        with ctx.workspace.datasets.new_version() as writer:
            # The workers write the kept rows as parts themselves.
            written = ctx.engine.write_batches(lambda batch: (apply(batch), None), source,
                                               writer.sink(), description=f"{self.name}: writing")
            writer.adopt(meta for meta, _ in written)
            return ctx.publish(writer, self.name, [source], decision.params, decision.stats,
                               {"dropped": decision.dropped, **decision.artifacts})
