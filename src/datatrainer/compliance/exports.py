"""The exports a workspace has written (to folders outside its store), so erasure can rewrite them too."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from datatrainer.compliance.models import ExportRow


@dataclass(frozen=True)
class ExportRecord:
    id: int
    version_id: int
    path: Path
    format: str


def record_export(engine: Engine, version_id: int, path: Path, fmt: str) -> None:
    """Remember one export (once per version, folder and format)."""
    with sessionmaker(engine).begin() as session:
        known = session.scalar(select(ExportRow.id).where(ExportRow.version_id == version_id,
                                                          ExportRow.path == str(path), ExportRow.format == fmt))
        if known is None:
            session.add(ExportRow(version_id=version_id, path=str(path), format=fmt, created_at=datetime.now(UTC)))


def exports_of(session: Session, version_ids: Collection[int]) -> list[ExportRecord]:
    if not version_ids:
        return []
    rows = session.scalars(select(ExportRow).where(ExportRow.version_id.in_(sorted(version_ids)))
                           .order_by(ExportRow.id))
    return [ExportRecord(row.id, row.version_id, Path(row.path), row.format) for row in rows]
