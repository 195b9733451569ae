"""Helpers for the quality-metric tests: small versions built from Python records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from datatrainer.io.ingest import IngestOptions
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace


def make_version(ws: Workspace, records: Sequence[dict[str, Any]], name: str = "data",
                 **options: Any) -> DatasetVersion:
    """Ingest `records` (each with at least `id` and `text`) as a new version of dataset `name`."""
    path = ws.root / f"{name}-{len(ws.catalog.dataset_names())}.jsonl"
    path.write_bytes(b"".join(orjson.dumps(record) + b"\n" for record in records))
    return ws.ingest(path, name, IngestOptions(**options))
