"""The `Operation` protocol, the one path by which an operation publishes its version, and `BatchOperation`.

Every operation ends the same way: its parts are written, its side tables (`dropped`, `clusters`) are
stored, and one catalog transaction publishes the version with its lineage. `OperationContext.publish` is
that ending, so the batch, staged (`operations.staged`) and third-party operations cannot drift apart.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel

from datatrainer.compliance.guard import inputs_unchanged
from datatrainer.engine.base import Engine
from datatrainer.errors import DatatrainerError
from datatrainer.store.versions import DatasetVersion
from datatrainer.store.writer import VersionWriter

if TYPE_CHECKING:
    from pathlib import Path

    from datatrainer.workspace import Workspace

P = TypeVar("P", bound=BaseModel)


@dataclass
class OperationContext:
    """What an operation runs with: the workspace, the engine that runs its batches, the output's name."""

    workspace: Workspace
    engine: Engine
    output_name: str

    def publish(self, writer: VersionWriter, operation: str, parents: Sequence[DatasetVersion],
                params: Mapping[str, Any], stats: Mapping[str, Any],
                artifacts: Mapping[str, pa.Table | None] | None = None) -> DatasetVersion:
        """Store the artifacts (None ones are skipped) and publish the version written so far, with its
        lineage, in one catalog transaction. An output without rows keeps the first parent's schema."""
        for name, table in (artifacts or {}).items():
            if table is not None:
                writer.write_artifact(name, table)
        base_schema = parents[0].schema if parents and writer.row_count == 0 else None
        inputs = [parent.info for parent in parents]
        record = inputs_unchanged(inputs, self.workspace.audit.version_published())  # and the audit entry
        info = writer.commit(dataset=self.output_name, operation=operation, params=dict(params),
                             parents=inputs, stats=dict(stats), base_schema=base_schema, also_record=record)
        return self.workspace.version(info.ref)


def dropped_summary(dropped: pa.Table | None) -> dict[str, Any]:
    """The statistics every filtering operation stores: how many rows it dropped, per reason."""
    if dropped is None or dropped.num_rows == 0:
        return {"dropped": 0}
    counts = pc.value_counts(dropped["reason"]).to_pylist()
    return {"dropped": dropped.num_rows, "dropped_by_reason": {item["values"]: item["counts"] for item in counts}}


class Operation(ABC, Generic[P]):
    """A step that reads zero or more versions and writes exactly one new version.

    Subclasses set `name` and `params_model` and implement `run`; `example_params` gives the conformance
    suite (tests/operations/test_conformance.py) parameters to exercise the operation with.
    """

    name: ClassVar[str]
    params_model: ClassVar[type[BaseModel]]
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int] = 1

    @abstractmethod
    def run(self, ctx: OperationContext, inputs: Sequence[DatasetVersion], params: P) -> DatasetVersion: ...

    def default_output_name(self, inputs: Sequence[DatasetVersion], params: P) -> str:
        if not inputs:
            raise DatatrainerError(f"operation {self.name!r} needs an output name")
        return inputs[0].info.dataset

    @classmethod
    def example_params(cls, records: Path) -> list[dict[str, Any]]:
        """Small parameter sets the conformance suite runs the operation with. An operation with inputs runs
        on the version `example@1` of the example records (columns `id`, `text`, `n`); one without inputs
        (ingest) gets them as the JSONL file `records`. Default: the parameters' defaults."""
        return [{}]


@dataclass
class Filtered:
    """What a filtering `transform` returns: the kept rows, and the dropped ids with their reasons.

    `dropped` has at least the columns `id` and `reason` (string); extra columns (a score, a detail) are
    kept. The run stores all dropped rows as the version's `dropped` artifact, so users can see what was
    removed and why (`datatrainer datasets dropped VERSION`).
    """

    kept: pa.Table
    dropped: pa.Table


def _split(result: pa.Table | Filtered) -> tuple[pa.Table, pa.Table | None]:
    """(rows to store, dropped rows or None) of what a `transform` returned."""
    return (result.kept, result.dropped) if isinstance(result, Filtered) else (result, None)


class BatchOperation(Operation[P]):
    """An operation that maps each record batch of one input to zero or more output rows (filters, mappers).

    Subclasses implement `transform`; streaming, parallelism, atomic writing and lineage come from here.
    """

    @abstractmethod
    def transform(self, batch: pa.RecordBatch, params: P) -> pa.Table | Filtered: ...

    def summarize(self, dropped: pa.Table | None) -> dict[str, Any]:
        """Statistics stored with the output version; by default the number dropped per reason."""
        return dropped_summary(dropped)

    def prepare(self, version: DatasetVersion, params: P) -> None:
        """Check parameters against the input before any batch runs (e.g. compile an expression)."""

    def run(self, ctx: OperationContext, inputs: Sequence[DatasetVersion], params: P) -> DatasetVersion:
        (source,) = inputs
        self.prepare(source, params)
        dropped: list[pa.Table] = []
        with ctx.workspace.datasets.new_version() as writer:
            # The workers write the kept rows as parts themselves; only the dropped rows come back.
            results = ctx.engine.write_batches(lambda batch: _split(self.transform(batch, params)), source,
                                               writer.sink(), description=self.name)
            for meta, dropped_part in results:
                writer.adopt([meta])
                if dropped_part is not None:
                    dropped.append(dropped_part)
            dropped_table = pa.concat_tables(dropped, promote_options="permissive") if dropped else None
            return ctx.publish(writer, self.name, [source], params.model_dump(mode="json"),
                               self.summarize(dropped_table), {"dropped": dropped_table})
