"""The exports a workspace has written (to paths outside its store), so erasure can rewrite them too:
dataset versions (`ws.export`) and annotation projects' result files (`annotate export --format`)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from datatrainer.annotation.models import ProjectRow
from datatrainer.compliance.models import ExportRow


@dataclass(frozen=True)
class ExportRecord:
    id: int
    version_id: int
    path: Path
    format: str
    project: str | None
    options: dict[str, Any]


def record_export(engine: Engine, version_id: int, path: Path, fmt: str) -> None:
    """Remember one export of a version (once per version, path and format)."""
    _record(engine, version_id, path, fmt, None, None)


def record_annotation_export(engine: Engine, project: str, path: Path, fmt: str, options: dict[str, Any]) -> None:
    """Remember one annotation file export; it is tied to the version the project's tasks were made from."""
    with sessionmaker(engine)() as session:
        version_id = session.scalar(select(ProjectRow.source_version_id).where(ProjectRow.name == project))
    if version_id is not None:
        _record(engine, version_id, path, fmt, project, options)


def _record(engine: Engine, version_id: int, path: Path, fmt: str, project: str | None,
            options: dict[str, Any] | None) -> None:
    with sessionmaker(engine).begin() as session:
        known = session.scalar(select(ExportRow.id).where(ExportRow.version_id == version_id,
                                                          ExportRow.path == str(path), ExportRow.format == fmt))
        if known is None:
            session.add(ExportRow(version_id=version_id, path=str(path), format=fmt, project=project,
                                  options=options, created_at=datetime.now(UTC)))


def exports_of(session: Session, version_ids: Collection[int]) -> list[ExportRecord]:
    if not version_ids:
        return []
    rows = session.scalars(select(ExportRow).where(ExportRow.version_id.in_(sorted(version_ids)))
                           .order_by(ExportRow.id))
    return [ExportRecord(row.id, row.version_id, Path(row.path), row.format, row.project, dict(row.options or {}))
            for row in rows]
