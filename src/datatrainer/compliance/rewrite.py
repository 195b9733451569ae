"""Rewrite a published version without some records, keeping its ref (`name@N`), id and lineage.

Versions are immutable, except for erasure: the law outranks immutability. The records that stay are written
through the ordinary `VersionWriter` (so an encrypted workspace writes them under a fresh data key) as a
scratch version; inside the very transaction that would publish it, the scratch row is dropped and the
original version's row is pointed at the new folder instead (`storage_key`, `row_count`, and the erasure
added to its `stats`). Readers therefore see either the old folder or the new one, never a mixture, and the
old folder, which nothing names any more, is deleted afterwards by the caller.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from datatrainer.store.catalog import VersionInfo
from datatrainer.store.models import DatasetRow, VersionMetricsRow, VersionParentRow, VersionRow
from datatrainer.store.schema import ID
from datatrainer.store.versions import DatasetVersion

if TYPE_CHECKING:
    from datatrainer.workspace import Workspace

SCRATCH_PREFIX = "erasure-scratch-"


def _without(table: pa.Table, drop: pa.Array) -> pa.Table:
    if ID not in table.column_names or len(drop) == 0:
        return table
    return table.filter(pc.invert(pc.is_in(table.column(ID), value_set=drop)))


def rewrite_version(ws: Workspace, version: DatasetVersion, drop_ids: Sequence[str], erasure_id: int,
                    on_key: Callable[[str], None], also_record: Callable[[Session, str], None]) -> str:
    """Write `version` without the records whose id is in `drop_ids` and swap it in; returns the new storage
    key. `on_key(key)` is called before anything is written (so a journal can clean up after a crash);
    `also_record(session, new key)` runs in the swapping transaction (so the journal's progress commits with it)."""
    drop = pa.array(sorted(set(drop_ids)), pa.string())
    removed = 0
    with ws.datasets.new_version() as writer:
        on_key(writer.storage_key)
        for sequence, batch in enumerate(version.read_batches()):
            table = pa.Table.from_batches([batch], schema=version.schema)
            kept = _without(table, drop)
            removed += table.num_rows - kept.num_rows
            writer.write_part(sequence, kept)
        for name in version.artifact_names():
            writer.write_artifact(name, _without(version.artifact(name), drop))
        scratch = f"{SCRATCH_PREFIX}{uuid.uuid4().hex[:12]}"
        erasure = {"erasure": erasure_id, "removed": removed, "at": datetime.now(UTC).isoformat()}

        def swap(session: Session, info: VersionInfo) -> None:
            _swap(session, version.info, info, erasure)
            also_record(session, info.storage_key)

        writer.commit(dataset=scratch, operation="erase", params={}, stats={}, base_schema=version.schema,
                      also_record=swap)
    return writer.storage_key


def _swap(session: Session, original: VersionInfo, scratch: VersionInfo, erasure: dict[str, Any]) -> None:
    session.execute(delete(VersionParentRow).where(VersionParentRow.child_id == scratch.id))
    session.execute(delete(VersionRow).where(VersionRow.id == scratch.id))
    session.execute(delete(DatasetRow).where(DatasetRow.name == scratch.dataset))
    stats: dict[str, Any] = dict(session.scalar(select(VersionRow.stats).where(VersionRow.id == original.id)) or {})
    earlier = stats.get("erasures")
    stats["erasures"] = [*(earlier if isinstance(earlier, list) else []), erasure]
    stats.pop("skipped_examples", None)  # ingest quotes the first bad input lines, which may be the subject's
    session.execute(update(VersionRow).where(VersionRow.id == original.id)
                    .values(storage_key=scratch.storage_key, row_count=scratch.row_count, stats=stats))
    # Stored measurements described the records as they were (a quality report keeps sample texts).
    session.execute(delete(VersionMetricsRow).where(VersionMetricsRow.version_id == original.id))
