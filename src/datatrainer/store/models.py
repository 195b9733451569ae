"""Catalog tables (SQLAlchemy 2 ORM). Alembic migrations in `migrations/` create and evolve them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
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


class JobRow(Base):
    """A long command (embed, score, train, ...) run as a job: what to re-run, how far it got, who runs it.

    `lease_holder`/`lease_expires` make a job runnable by one process at a time: a worker claims the job
    with one conditional UPDATE and renews the lease by heartbeat; a killed worker's lease runs out, and
    then another may claim the job and resume it from its last checkpoint.
    """

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(100), index=True)
    params: Mapped[dict[str, object]] = mapped_column(JSON)
    options: Mapped[dict[str, object]] = mapped_column(JSON)
    inputs: Mapped[list[str]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(20), index=True)
    stop_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    phase: Mapped[str | None] = mapped_column(String(200), nullable=True)
    done: Mapped[float] = mapped_column(Float, default=0.0)
    total: Mapped[float | None] = mapped_column(Float, nullable=True)
    log: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    owner: Mapped[str] = mapped_column(String(200), index=True)
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    lease_holder: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lease_expires: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
