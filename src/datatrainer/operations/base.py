"""The `Operation` protocol, its registry, and the streaming `BatchOperation`."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel

from datatrainer.engine.local import LocalEngine
from datatrainer.errors import DatatrainerError
from datatrainer.params import validate_params
from datatrainer.store.versions import DatasetVersion

if TYPE_CHECKING:
    from datatrainer.workspace import Workspace

P = TypeVar("P", bound=BaseModel)


@dataclass
class OperationContext:
    workspace: Workspace
    engine: LocalEngine
    output_name: str


class Operation(ABC, Generic[P]):
    """A step that reads zero or more versions and writes exactly one new version."""

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


@dataclass
class Filtered:
    """What a filtering `transform` returns: the kept rows, and the dropped ids with their reasons.

    `dropped` has at least the columns `id` and `reason` (string); extra columns (a score, a detail) are
    kept. The run stores all dropped rows as the version's `dropped` artifact, so users can see what was
    removed and why (`datatrainer datasets dropped VERSION`).
    """

    kept: pa.Table
    dropped: pa.Table


class BatchOperation(Operation[P]):
    """An operation that maps each record batch of one input to zero or more output rows (filters, mappers).

    Subclasses implement `transform`; streaming, parallelism, atomic writing and lineage come from here.
    """

    @abstractmethod
    def transform(self, batch: pa.RecordBatch, params: P) -> pa.Table | Filtered: ...

    def summarize(self, dropped: pa.Table | None) -> dict[str, Any]:
        """Statistics stored with the output version; by default the number dropped per reason."""
        if dropped is None or dropped.num_rows == 0:
            return {"dropped": 0}
        counts = pc.value_counts(dropped["reason"]).to_pylist()
        return {"dropped": dropped.num_rows,
                "dropped_by_reason": {item["values"]: item["counts"] for item in counts}}

    def prepare(self, version: DatasetVersion, params: P) -> None:
        """Check parameters against the input before any batch runs (e.g. compile an expression)."""

    def run(self, ctx: OperationContext, inputs: Sequence[DatasetVersion], params: P) -> DatasetVersion:
        (source,) = inputs
        self.prepare(source, params)
        dropped: list[pa.Table] = []
        with ctx.workspace.datasets.new_version() as writer:
            results = ctx.engine.map_batches(lambda batch: self.transform(batch, params), source,
                                             description=self.name)
            for sequence, result in enumerate(results):
                if isinstance(result, Filtered):
                    dropped.append(result.dropped)
                    result = result.kept
                writer.write_part(sequence, result)
            dropped_table = pa.concat_tables(dropped, promote_options="permissive") if dropped else None
            if dropped_table is not None:
                writer.write_artifact("dropped", dropped_table)
            info = writer.commit(
                dataset=ctx.output_name,
                operation=self.name,
                params=params.model_dump(mode="json"),
                parents=[source.info],
                stats=self.summarize(dropped_table),
                base_schema=source.schema if writer.row_count == 0 else None,
            )
        return ctx.workspace.version(info.ref)


_REGISTRY: dict[str, Operation[Any]] = {}
_LOCK = threading.Lock()


def register(operation: type[Operation[Any]]) -> type[Operation[Any]]:
    """Class decorator: make an operation runnable by name."""
    with _LOCK:
        if operation.name in _REGISTRY:
            raise ValueError(f"operation {operation.name!r} is registered twice")
        _REGISTRY[operation.name] = operation()
    return operation


def _load_builtins() -> None:
    # Importing the modules registers their operations.
    from datatrainer.io import ingest  # noqa: F401
    from datatrainer.operations import filter  # noqa: F401
    from datatrainer.quality import dedup_operation, filters  # noqa: F401
    from datatrainer.sampling import operation  # noqa: F401


def operation_names() -> list[str]:
    _load_builtins()
    return sorted(_REGISTRY)


def get_operation(name: str) -> Operation[Any]:
    _load_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise DatatrainerError(f"unknown operation {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def run_operation(
    workspace: Workspace,
    name: str,
    inputs: Sequence[DatasetVersion],
    params: dict[str, Any],
    output_name: str | None = None,
    engine: LocalEngine | None = None,
) -> DatasetVersion:
    operation = get_operation(name)
    if not operation.min_inputs <= len(inputs) <= operation.max_inputs:
        raise DatatrainerError(
            f"operation {name!r} takes {operation.min_inputs}..{operation.max_inputs} input versions, "
            f"got {len(inputs)}"
        )
    parsed = validate_params(operation.params_model, params, f"operation {name!r}")
    ctx = OperationContext(
        workspace=workspace,
        engine=engine or LocalEngine(),
        output_name=output_name or operation.default_output_name(inputs, parsed),
    )
    return operation.run(ctx, inputs, parsed)
