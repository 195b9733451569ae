"""Catalog tables (SQLAlchemy 2 ORM). Alembic migrations in `migrations/` create and evolve them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class DatasetRow(Base):
    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    versions: Mapped[list[VersionRow]] = relationship(back_populates="dataset", order_by="VersionRow.number")


class VersionRow(Base):
    __tablename__ = "versions"
    __table_args__ = (UniqueConstraint("dataset_id", "number", name="uq_versions_dataset_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    # Folder under <workspace>/versions/ holding the Parquet parts; random so concurrent writers never clash.
    storage_key: Mapped[str] = mapped_column(String(64), unique=True)
    operation: Mapped[str] = mapped_column(String(100))
    params: Mapped[dict[str, object]] = mapped_column(JSON)
    code_version: Mapped[str] = mapped_column(String(50))
    row_count: Mapped[int] = mapped_column(Integer)
    # The Arrow schema in IPC form, so readers get back exactly the types that were written.
    arrow_schema: Mapped[bytes] = mapped_column(LargeBinary)
    stats: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    dataset: Mapped[DatasetRow] = relationship(back_populates="versions")
    parent_links: Mapped[list[VersionParentRow]] = relationship(
        foreign_keys="VersionParentRow.child_id", order_by="VersionParentRow.position"
    )


class VersionParentRow(Base):
    __tablename__ = "version_parents"

    child_id: Mapped[int] = mapped_column(ForeignKey("versions.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("versions.id"), index=True)


class VersionMetricsRow(Base):
    """Measurements of a version (e.g. quality metrics), keyed by what was measured and how (config hash).

    Versions are immutable, so a measurement stays valid forever; keeping them here lets reports show the
    trend across versions without recomputing.
    """

    __tablename__ = "version_metrics"
    __table_args__ = (UniqueConstraint("version_id", "kind", "config_hash", name="uq_version_metrics"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(100))
    config_hash: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
