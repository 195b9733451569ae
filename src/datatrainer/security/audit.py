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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Engine, bindparam, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from datatrainer.security.models import AuditHeadRow, AuditRow
from datatrainer.security.writer_lock import WriterLock
from datatrainer.store.models import Base

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


_ENTRY_FIELDS = tuple(field.name for field in fields(AuditEntry))
_HEAD = Base.metadata.tables[AuditHeadRow.__tablename__]
_LOG = Base.metadata.tables[AuditRow.__tablename__]
# Built once: SQLAlchemy then compiles each statement once and reuses it (ORM flushes cost ~4x as much).
_TAKE_HEAD = update(_HEAD).where(_HEAD.c.id == 1).values(seq=_HEAD.c.seq).returning(_HEAD.c.seq, _HEAD.c.hash)
_MOVE_HEAD = update(_HEAD).where(_HEAD.c.id == 1).values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
_ADD_ENTRY = insert(_LOG)


_HEAD_KEY = "datatrainer.audit_head"


def lock_chain(session: Session) -> tuple[int, str]:
    """Take the audit write lock for the rest of the caller's transaction; returns the head (seq, hash).

    Callers that read state and then decide what to write (e.g. which task to assign) call this first, so the
    read and the write happen under the same lock and the decision cannot be raced. Idempotent: the head is
    kept with the session's current transaction (never across transactions), so later calls cost no statement.
    """
    transaction = session.get_transaction()
    cached: tuple[object, int, str] | None = session.info.get(_HEAD_KEY)
    if transaction is not None and cached is not None and cached[0] is transaction:
        return cached[1], cached[2]
    seq, digest = session.connection().execute(_TAKE_HEAD).one()
    session.info[_HEAD_KEY] = (session.get_transaction(), int(seq), str(digest))
    return int(seq), str(digest)


class AuditLog:
    """Append entries within a caller's session; read and verify the chain."""

    def __init__(self, engine: Engine) -> None:
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self.writers = WriterLock(engine)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One write transaction holding the audit lock from its first statement; commits on success.

        Writers queue on the `WriterLock` (threads of this process, and other processes on the same SQLite
        file) before they touch the database. Every write takes the audit head row anyway, so this costs no
        concurrency; what it saves is SQLite's busy handler, which makes a blocked writer poll with sleeps of up
        to 100 ms and lets a newcomer overtake it (measured: 40% of the server threads' time under 50
        annotators was spent in those sleeps).
        """
        with self.writers.hold(), self._sessions.begin() as session:
            lock_chain(session)
            yield session

    def append(self, session: Session, *, actor: str, action: str, entity: str, entity_id: str | int,
               before: Any = None, after: Any = None) -> AuditEntry:
        """Add one entry in `session`'s transaction; it becomes visible when the caller commits."""
        prev_seq, prev_hash = lock_chain(session)
        before, after, key = plain_json(before), plain_json(after), str(entity_id)
        seq, at = prev_seq + 1, datetime.now(UTC)
        entry = AuditEntry(seq=seq, at=at, actor=actor, action=action, entity=entity, entity_id=key, before=before,
                           after=after, prev_hash=prev_hash,
                           hash=entry_hash(prev_hash, seq, at, actor, action, entity, key, before, after))
        connection = session.connection()
        # Not `asdict`: it deep-copies `before` and `after`, which cost more than both statements together.
        connection.execute(_ADD_ENTRY, {name: getattr(entry, name) for name in _ENTRY_FIELDS})
        connection.execute(_MOVE_HEAD, {"new_seq": entry.seq, "new_hash": entry.hash})
        session.info[_HEAD_KEY] = (session.get_transaction(), entry.seq, entry.hash)
        return entry

    def record(self, *, actor: str, action: str, entity: str, entity_id: str | int, before: Any = None,
               after: Any = None) -> AuditEntry:
        """Append one entry in its own transaction, for actions with no other database change (e.g. a login)."""
        with self.transaction() as session:
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
