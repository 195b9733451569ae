"""Task payloads from a dataset version: the record fields an annotator sees, snapshotted into the task.

Snapshotting keeps a task readable and stable even if the workspace is later garbage-collected or the record
erased from newer versions; export joins results back to the source version by record id.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pyarrow as pa

from datatrainer.annotation.errors import AnnotationValidationError
from datatrainer.annotation.types import PAYLOAD_KEYS
from datatrainer.store.schema import ID
from datatrainer.store.versions import DatasetVersion

CHUNK_ROWS = 5_000
MAX_RECORD_ID = 500


def field_mapping(version: DatasetVersion, task_type: str, fields: Mapping[str, str]) -> dict[str, str]:
    """Payload key -> source column, defaulting each key to the column of the same name; checked up front."""
    keys = PAYLOAD_KEYS[task_type]
    unknown = sorted(set(fields) - set(keys))
    if unknown:
        raise AnnotationValidationError(f"fields: {unknown[0]!r} is not used by {task_type} tasks "
                                        f"(they use {', '.join(keys)})")
    mapping = {key: fields.get(key, key) for key in keys}
    for key, column in mapping.items():
        if column not in version.schema.names:
            raise AnnotationValidationError(
                f"{version.ref}: has no column {column!r} for the task field {key!r} "
                f"(columns: {', '.join(version.schema.names)}); map it with fields, e.g. --field {key}=COLUMN")
        if not pa.types.is_string(version.schema.field(column).type) and \
                not pa.types.is_large_string(version.schema.field(column).type):
            raise AnnotationValidationError(f"{version.ref}: column {column!r} (task field {key!r}) is not text")
    return mapping


def task_payloads(version: DatasetVersion, task_type: str, fields: Mapping[str, str]
                  ) -> tuple[dict[str, str], Iterator[list[tuple[str, dict[str, Any]]]]]:
    """The checked mapping, and the (record id, payload) pairs in record order, in chunks."""
    mapping = field_mapping(version, task_type, fields)
    return mapping, _chunks(version, mapping)


def _chunks(version: DatasetVersion, mapping: dict[str, str]) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    columns = [ID, *dict.fromkeys(mapping.values())]
    for batch in version.read_batches(columns=columns, batch_size=CHUNK_ROWS):
        data = batch.to_pydict()
        chunk: list[tuple[str, dict[str, Any]]] = []
        for i, record_id in enumerate(data[ID]):
            if record_id is None or len(record_id) > MAX_RECORD_ID:
                raise AnnotationValidationError(f"{version.ref}: record {record_id!r}: ids must be 1 to "
                                                f"{MAX_RECORD_ID} characters to annotate")
            payload = {key: data[column][i] for key, column in mapping.items()}
            missing = [key for key, value in payload.items() if value is None]
            if missing:
                raise AnnotationValidationError(
                    f"{version.ref}: record {record_id!r}: column {mapping[missing[0]]!r} is null")
            chunk.append((record_id, payload))
        yield chunk
