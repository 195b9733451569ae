"""Tables of migration 0005 outside the audit log: where versions were exported, and each erasure's journal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from datatrainer.store.models import Base


class ExportRow(Base):
    """One export to a path outside the store, of a version or (with `project`) of an annotation project built
    on that version; erasure rewrites it, so it must be known."""

    __tablename__ = "exports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"), index=True)
    path: Mapped[str] = mapped_column(String(2000))
    format: Mapped[str] = mapped_column(String(20))
    project: Mapped[str | None] = mapped_column(String(200), nullable=True)
    options: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ErasureRow(Base):
    """An erasure: while `state` is "running", `journal` holds its plan and progress (ids and hashes, never
    text) so a killed run is finished by the next; once "done" only the summary of the receipt remains."""

    __tablename__ = "erasures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor: Mapped[str] = mapped_column(String(200))
    selector_sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20))
    journal: Mapped[dict[str, Any]] = mapped_column(JSON)
    receipt: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
