"""Tables for users, API tokens and the audit log, in the same catalog database as the datasets.

They share the catalog's declarative base so one Alembic history creates them (0003; roles, token scopes and
expiry, and the login throttle: 0008).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from datatrainer.security.keys_columns import SealedJSON
from datatrainer.store.models import Base


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)  # kept equal to role == "admin"
    role: Mapped[str] = mapped_column(String(20), default="annotator")  # see security/roles.py
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiTokenRow(Base):
    """Only the SHA-256 of a token is stored: a leaked database does not leak usable tokens."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    # None: every scope of the owner's role; a list narrows the token to those scopes.
    scopes: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    # Set for web sessions (12 hours) and tokens made with a lifetime; checked on every request, whatever the
    # header or cookie the token came in.
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class LoginThrottleRow(Base):
    """Failed logins per user name as typed (existing or not, so a lockout reveals nothing about accounts)."""

    __tablename__ = "login_throttle"

    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AuditRow(Base):
    """One link of the chain: who did what to which entity, and the digest of its payload, never the payload.

    `hash` = HMAC-SHA256(audit key, prev_hash + canonical JSON of the other columns); the key lives outside the
    database, so an edit cannot be hidden by recomputing the later hashes. Rows are append-only (triggers).
    """

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    entity: Mapped[str] = mapped_column(String(100))
    entity_id: Mapped[str] = mapped_column(String(200))
    payload_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditPayloadRow(Base):
    """What an entry changed (before/after), kept out of the chain so erasure can remove it.

    The chain stores sha256(nonce + canonical JSON); the random nonce goes with the payload, so once a payload
    is erased its digest reveals nothing, even about a short, guessable value. An erased payload keeps its row
    with `erased_by` naming the erasure's own entry, so `audit verify` can tell erasure from tampering.
    """

    __tablename__ = "audit_payloads"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    nonce: Mapped[str | None] = mapped_column(String(32), nullable=True)
    before: Mapped[Any] = mapped_column(SealedJSON("audit_payloads.before"), nullable=True)
    after: Mapped[Any] = mapped_column(SealedJSON("audit_payloads.after"), nullable=True)
    erased_by: Mapped[int | None] = mapped_column(Integer, nullable=True)


class AuditHeadRow(Base):
    """The single row naming the last entry: appends lock it, and deleting the newest entries is detected."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
