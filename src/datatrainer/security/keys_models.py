"""Tables of the encryption keys (migration 0007): the master-key settings and the wrapped data keys.

Kept apart from `security/models.py` (users, tokens, audit) because only the key ring reads them; they share
the catalog's declarative base, so one Alembic history creates everything.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from datatrainer.store.models import Base


class WorkspaceKeyRow(Base):
    """The one row (id 1) saying how the master key is found; never the key itself."""

    __tablename__ = "workspace_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    check_wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    generation: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class DataKeyRow(Base):
    """A data key wrapped by the master key: one per encrypted version (its storage key) or cache folder."""

    __tablename__ = "data_keys"

    key_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # "version" or "store"
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    generation: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
