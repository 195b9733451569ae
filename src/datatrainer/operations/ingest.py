"""`ingest` in the registry, so every front end (and later a Ray job) runs the same code as `ws.ingest`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from datatrainer.io.ingest import IngestOptions, IngestParams, ingest
from datatrainer.operations.base import Operation, OperationContext
from datatrainer.store.versions import DatasetVersion


class IngestOperation(Operation[IngestParams]):
    """Reads a file or folder into a new version: the same code as `ws.ingest` and `datatrainer ingest`."""

    name = "ingest"
    params_model = IngestParams
    min_inputs = 0
    max_inputs = 0

    def run(self, ctx: OperationContext, inputs: Sequence[DatasetVersion], params: IngestParams) -> DatasetVersion:
        options = IngestOptions(**params.model_dump(exclude={"path"}))
        return ingest(ctx.workspace, params.path, ctx.output_name, options, ctx.engine)

    def default_output_name(self, inputs: Sequence[DatasetVersion], params: IngestParams) -> str:
        stem = Path(params.path).stem or "dataset"
        return "".join(c if c.isalnum() or c in "._-" else "-" for c in stem)

    @classmethod
    def example_params(cls, records: Path) -> list[dict[str, Any]]:
        return [{"path": str(records)}, {"path": str(records), "format": "jsonl", "chunk_bytes": 1024}]
