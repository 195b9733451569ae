"""The append-only, hash-chained audit log (`ws.audit`).

Each entry's hash is sha256(previous hash + canonical JSON of the entry), so editing, deleting or reordering
any entry breaks every later link, and `verify()` names the first broken one. A one-row `audit_head` table
holds the newest seq and hash: appenders update it first, which serialises them (a row lock on PostgreSQL,
the database write lock on SQLite), so concurrent writers can never fork the chain; it also lets `verify()`
notice entries deleted from the end. Entries are appended inside the caller's transaction, so a change and
its audit entry are committed together or not at all.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from datatrainer.security.models import AuditHeadRow, AuditRow

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    before: Any
    after: Any
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class AuditReport:
    """The result of walking the chain: `broken_seq` is the first entry that fails, None when intact."""

    entries: int
    broken_seq: int | None
    reason: str

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def plain_json(value: Any) -> Any:
    """The value as the database will give it back (lists, str keys), so hashes match on re-reading."""
    return orjson.loads(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS))


def _utc(moment: datetime) -> datetime:
    # SQLite hands timestamps back without a zone; they were written in UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def entry_hash(prev_hash: str, seq: int, at: datetime, actor: str, action: str, entity: str, entity_id: str,
               before: Any, after: Any) -> str:
    body = {"seq": seq, "at": _utc(at).isoformat(timespec="microseconds"), "actor": actor, "action": action,
            "entity": entity, "entity_id": entity_id, "before": before, "after": after}
    canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return hashlib.sha256(prev_hash.encode() + canonical).hexdigest()


def lock_chain(session: Session) -> None:
    """Take the audit write lock for the rest of the caller's transaction.

    Callers that read state and then decide what to write (e.g. which task to assign) call this first, so the
    read and the write happen under the same lock and the decision cannot be raced. Idempotent.
    """
    session.execute(update(AuditHeadRow).where(AuditHeadRow.id == 1).values(seq=AuditHeadRow.seq))


class AuditLog:
    """Append entries within a caller's session; read and verify the chain."""

    def __init__(self, engine: Engine) -> None:
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def append(self, session: Session, *, actor: str, action: str, entity: str, entity_id: str | int,
               before: Any = None, after: Any = None) -> AuditEntry:
        """Add one entry in `session`'s transaction; it becomes visible when the caller commits."""
        lock_chain(session)
        head = session.get(AuditHeadRow, 1, populate_existing=True)
        assert head is not None, "migration 0003 creates the audit head row"
        before, after = plain_json(before), plain_json(after)
        seq, at = head.seq + 1, datetime.now(UTC)
        digest = entry_hash(head.hash, seq, at, actor, action, entity, str(entity_id), before, after)
        row = AuditRow(seq=seq, at=at, actor=actor, action=action, entity=entity, entity_id=str(entity_id),
                       before=before, after=after, prev_hash=head.hash, hash=digest)
        session.add(row)
        head.seq, head.hash = seq, digest
        session.flush()
        return _entry(row)

    def record(self, *, actor: str, action: str, entity: str, entity_id: str | int, before: Any = None,
               after: Any = None) -> AuditEntry:
        """Append one entry in its own transaction, for actions with no other database change (e.g. a login)."""
        with self._sessions.begin() as session:
            return self.append(session, actor=actor, action=action, entity=entity, entity_id=entity_id,
                               before=before, after=after)

    def entries(self, after_seq: int = 0, limit: int = 100, entity: str | None = None,
                entity_id: str | None = None) -> list[AuditEntry]:
        """Entries in chain order, newest last; filter by entity to see one object's history."""
        query = select(AuditRow).where(AuditRow.seq > after_seq)
        if entity is not None:
            query = query.where(AuditRow.entity == entity)
        if entity_id is not None:
            query = query.where(AuditRow.entity_id == entity_id)
        with self._sessions() as session:
            return [_entry(row) for row in session.scalars(query.order_by(AuditRow.seq).limit(limit))]

    def verify(self) -> AuditReport:
        """Walk the whole chain (streamed) and report the first entry whose seq, link or hash is wrong."""
        expected, prev = 1, GENESIS
        with self._sessions() as session:
            for row in session.scalars(select(AuditRow).order_by(AuditRow.seq).execution_options(yield_per=1000)):
                if row.seq != expected:
                    return AuditReport(expected - 1, expected, f"entry {expected} is missing (next is {row.seq})")
                if row.prev_hash != prev:
                    return AuditReport(expected - 1, row.seq, f"entry {row.seq} does not link to entry {row.seq - 1}")
                digest = entry_hash(prev, row.seq, row.at, row.actor, row.action, row.entity, row.entity_id,
                                    row.before, row.after)
                if digest != row.hash:
                    return AuditReport(expected - 1, row.seq, f"entry {row.seq} was altered (hash mismatch)")
                expected, prev = expected + 1, row.hash
            head = session.get(AuditHeadRow, 1)
        last = expected - 1
        if head is None or head.seq != last or head.hash != prev:
            head_seq = head.seq if head is not None else "?"
            return AuditReport(last, last + 1, f"entries {last + 1}..{head_seq} were deleted from the end")
        return AuditReport(last, None, f"{last} entries, chain intact")


def _entry(row: AuditRow) -> AuditEntry:
    return AuditEntry(seq=row.seq, at=_utc(row.at), actor=row.actor, action=row.action, entity=row.entity,
                      entity_id=row.entity_id, before=row.before, after=row.after, prev_hash=row.prev_hash,
                      hash=row.hash)
