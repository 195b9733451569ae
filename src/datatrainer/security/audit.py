"""The append-only, keyed hash chain of everything that changed data in the workspace (`ws.audit`).

Two tables. The chain (`audit_log`) holds who, what, which entity and when, plus a digest of the payload, and
each entry's `hash` = HMAC-SHA256(key, previous hash + canonical JSON of the entry): editing, deleting or
reordering an entry breaks every later link, and since the key lives outside the database (see
`audit_key`), someone who can write to the database cannot recompute the later hashes and the head to hide an
edit. The payloads (`audit_payloads`: what an entry changed, which may hold personal data such as an
annotation's text) sit beside the chain, committed to by sha256(nonce + payload), so erasure can remove them
without breaking the chain, and `verify()` can tell an erased payload (marked by the erasure) from a
tampered or deleted one.

A one-row `audit_head` table holds the newest seq and hash: appenders update it first, which serialises them
(a row lock on PostgreSQL, the database write lock on SQLite), so concurrent writers can never fork the chain;
it also lets `verify()` notice entries deleted from the end. Entries are appended inside the caller's
transaction, so a change and its audit entry are committed together or not at all.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Engine, bindparam, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from datatrainer.security.models import AuditHeadRow, AuditPayloadRow, AuditRow
from datatrainer.security.prepared import PreparedFor
from datatrainer.security.writer_lock import WriterLock
from datatrainer.store.models import Base

if TYPE_CHECKING:
    from datatrainer.store.catalog import VersionInfo

GENESIS = "0" * 64
ERASE_ACTION = "erase.run"

_actor: ContextVar[str | None] = ContextVar("datatrainer_audit_actor", default=None)


def current_actor() -> str:
    """Who the workspace's own audit entries name: the API user (see `acting_as`), else `local:<os user>`."""
    return _actor.get() or f"local:{getpass.getuser()}"


@contextmanager
def acting_as(actor: str) -> Iterator[None]:
    """Attribute the audit entries appended inside this block (e.g. one API request) to `actor`."""
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


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
    payload_sha256: str | None = None
    erased: bool = False  # the payload was removed by an erasure (before/after are then None)


@dataclass(frozen=True)
class AuditReport:
    """The result of walking the chain: `broken_seq` is the first entry that fails, None when intact."""

    entries: int
    broken_seq: int | None
    reason: str
    erased_payloads: int = 0

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def plain_json(value: Any) -> Any:
    """The value as the database will give it back (lists, str keys), so digests match on re-reading."""
    return orjson.loads(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS))


def canonical(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def _utc(moment: datetime) -> datetime:
    # SQLite hands timestamps back without a zone; they were written in UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def payload_digest(nonce: str, before: Any, after: Any) -> str:
    """The chain's commitment to a payload; the random nonce makes it useless for guessing erased values."""
    return hashlib.sha256(bytes.fromhex(nonce) + canonical({"before": before, "after": after})).hexdigest()


def entry_hash(key: bytes, prev_hash: str, seq: int, at: datetime, actor: str, action: str, entity: str,
               entity_id: str, payload_sha256: str | None) -> str:
    body = {"seq": seq, "at": _utc(at).isoformat(timespec="microseconds"), "actor": actor, "action": action,
            "entity": entity, "entity_id": entity_id, "payload": payload_sha256}
    return hmac.new(key, prev_hash.encode() + canonical(body), hashlib.sha256).hexdigest()


_HEAD = Base.metadata.tables[AuditHeadRow.__tablename__]
_LOG = Base.metadata.tables[AuditRow.__tablename__]
_PAYLOADS = Base.metadata.tables[AuditPayloadRow.__tablename__]
# Every write runs these four: prepared once per dialect and run on the DBAPI cursor (see `prepared`).
_TAKE_HEAD = PreparedFor(update(_HEAD).where(_HEAD.c.id == 1).values(seq=_HEAD.c.seq)
                         .returning(_HEAD.c.seq, _HEAD.c.hash))
_MOVE_HEAD = PreparedFor(update(_HEAD).where(_HEAD.c.id == 1)
                         .values(seq=bindparam("new_seq"), hash=bindparam("new_hash")))
_ADD_ENTRY, _ADD_PAYLOAD = (PreparedFor(insert(table).values({column.name: bindparam(column.name, type_=column.type)
                                                               for column in table.columns}))
                             for table in (_LOG, _PAYLOADS))
_ERASE_PAYLOAD = (update(_PAYLOADS).where(_PAYLOADS.c.seq == bindparam("target"))
                  .values(nonce=None, before=None, after=None, erased_by=bindparam("by")))


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
    seq, digest = _TAKE_HEAD.one(session.connection(), {})
    session.info[_HEAD_KEY] = (session.get_transaction(), int(seq), str(digest))
    return int(seq), str(digest)


class AuditLog:
    """Append entries within a caller's session; read, verify and (for erasure) strip payloads.

    `key` is called when the chain key is first needed (see `audit_key.load_chain_key`).
    """

    def __init__(self, engine: Engine, key: Callable[[], bytes]) -> None:
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self.writers = WriterLock(engine)
        self._key_source = key
        self._key: bytes | None = None

    @property
    def key(self) -> bytes:
        if self._key is None:
            self._key = self._key_source()
        return self._key

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
        key = self.key
        prev_seq, prev_hash = lock_chain(session)
        before, after, name = plain_json(before), plain_json(after), str(entity_id)
        seq, at = prev_seq + 1, datetime.now(UTC)
        nonce = secrets.token_hex(16) if before is not None or after is not None else None
        digest = payload_digest(nonce, before, after) if nonce is not None else None
        entry = AuditEntry(seq=seq, at=at, actor=actor, action=action, entity=entity, entity_id=name, before=before,
                           after=after, prev_hash=prev_hash, payload_sha256=digest,
                           hash=entry_hash(key, prev_hash, seq, at, actor, action, entity, name, digest))
        connection = session.connection()
        _ADD_ENTRY.execute(connection, {"seq": seq, "at": at, "actor": actor, "action": action, "entity": entity,
                                        "entity_id": name, "payload_sha256": digest, "prev_hash": prev_hash,
                                        "hash": entry.hash})
        if nonce is not None:
            _ADD_PAYLOAD.execute(connection, {"seq": seq, "nonce": nonce, "before": before, "after": after,
                                              "erased_by": None})
        _MOVE_HEAD.execute(connection, {"new_seq": entry.seq, "new_hash": entry.hash})
        session.info[_HEAD_KEY] = (session.get_transaction(), entry.seq, entry.hash)
        return entry

    def record(self, *, actor: str | None = None, action: str, entity: str, entity_id: str | int,
               before: Any = None, after: Any = None) -> AuditEntry:
        """Append one entry in its own transaction, for actions with no other database change (e.g. a login);
        the actor defaults to `current_actor()`."""
        with self.transaction() as session:
            return self.append(session, actor=actor or current_actor(), action=action, entity=entity,
                               entity_id=entity_id, before=before, after=after)

    def is_empty(self) -> bool:
        with self._sessions() as session:
            head = session.get(AuditHeadRow, 1)
            return head is None or head.seq == 0

    def version_published(self) -> Callable[[Session, VersionInfo], None]:
        """An `also_record` for `VersionWriter.commit`: the new version's entry commits with it. It names the
        version, its parents, operation and row count, and a hash of its parameters (which can quote data)."""
        def record(session: Session, info: VersionInfo) -> None:
            self.append(session, actor=current_actor(), action="version.publish", entity="version",
                        entity_id=info.id, after={**version_facts(info), "operation": info.operation,
                                                  "parents": list(info.parents), "rows": info.row_count,
                                                  "params_sha256": hashlib.sha256(canonical(info.params)).hexdigest()})
        return record

    def computed(self, what: str, version: VersionInfo, name: str, config_hash: str, count: int) -> None:
        """One entry per scoring or embedding run that stored values (`what`: scores or embeddings)."""
        if count:
            self.record(action=f"{what}.compute", entity="version", entity_id=version.id,
                        after={**version_facts(version), "name": name, "config_hash": config_hash, "count": count})

    def entries(self, after_seq: int = 0, limit: int | None = 100, entity: str | None = None,
                entity_id: str | None = None) -> list[AuditEntry]:
        """Entries in chain order, newest last, with their payloads; filter by entity to see one object's
        history. `limit=None` reads them all."""
        query = (select(AuditRow, AuditPayloadRow).outerjoin(AuditPayloadRow, AuditPayloadRow.seq == AuditRow.seq)
                 .where(AuditRow.seq > after_seq))
        if entity is not None:
            query = query.where(AuditRow.entity == entity)
        if entity_id is not None:
            query = query.where(AuditRow.entity_id == entity_id)
        query = query.order_by(AuditRow.seq)
        with self._sessions() as session:
            rows = session.execute(query if limit is None else query.limit(limit))
            return [_entry(row, payload) for row, payload in rows]

    def iter_payloads(self, session: Session) -> Iterator[tuple[int, str, str, Any, Any]]:
        """(seq, entity, entity_id, before, after) of every payload not yet erased, streamed."""
        query = (select(AuditPayloadRow.seq, AuditRow.entity, AuditRow.entity_id, AuditPayloadRow.before,
                        AuditPayloadRow.after).join(AuditRow, AuditRow.seq == AuditPayloadRow.seq)
                 .where(AuditPayloadRow.erased_by.is_(None)).order_by(AuditPayloadRow.seq)
                 .execution_options(yield_per=1000))
        for seq, entity, entity_id, before, after in session.execute(query):
            yield int(seq), str(entity), str(entity_id), before, after

    def erase_payloads(self, session: Session, seqs: Iterable[int], erasure_seq: int) -> int:
        """Remove the payloads of these entries in the caller's transaction, marking them erased by the
        erasure's own entry `erasure_seq`; the chain rows stay as they are."""
        targets = [{"target": seq, "by": erasure_seq} for seq in seqs]
        if targets:
            session.connection().execute(_ERASE_PAYLOAD, targets)
        return len(targets)

    def verify(self) -> AuditReport:
        """Walk the whole chain (streamed) and report the first entry whose seq, link, keyed hash or payload is
        wrong. Payloads removed by an erasure are fine; payloads changed or deleted any other way are not."""
        key = self.key
        expected, prev, erased = 1, GENESIS, 0
        erasures: set[int] = set()
        claims: dict[int, int] = {}  # erasure seq named by an erased payload -> first such entry
        query = (select(AuditRow, AuditPayloadRow).outerjoin(AuditPayloadRow, AuditPayloadRow.seq == AuditRow.seq)
                 .order_by(AuditRow.seq).execution_options(yield_per=1000))
        with self._sessions() as session:
            for row, payload in session.execute(query):
                if row.seq != expected:
                    return AuditReport(expected - 1, expected, f"entry {expected} is missing (next is {row.seq})")
                if row.prev_hash != prev:
                    return AuditReport(expected - 1, row.seq, f"entry {row.seq} does not link to entry {row.seq - 1}")
                digest = entry_hash(key, prev, row.seq, row.at, row.actor, row.action, row.entity, row.entity_id,
                                    row.payload_sha256)
                if not hmac.compare_digest(digest, row.hash):
                    return AuditReport(expected - 1, row.seq, f"entry {row.seq} was altered (keyed hash mismatch)")
                problem = _payload_problem(row, payload)
                if problem:
                    return AuditReport(expected - 1, row.seq, problem)
                if payload is not None and payload.erased_by is not None:
                    erased += 1
                    claims.setdefault(payload.erased_by, row.seq)
                if row.action == ERASE_ACTION:
                    erasures.add(row.seq)
                expected, prev = expected + 1, row.hash
            head = session.get(AuditHeadRow, 1)
        last = expected - 1
        for claimed, seq in sorted(claims.items(), key=lambda item: item[1]):
            if claimed not in erasures:
                return AuditReport(last, seq, f"the payload of entry {seq} is marked erased by entry {claimed}, "
                                              f"which is not an erasure")
        if head is None or head.seq != last or head.hash != prev:
            head_seq = head.seq if head is not None else "?"
            return AuditReport(last, last + 1, f"entries {last + 1}..{head_seq} were deleted from the end", erased)
        note = f", {erased} payloads erased" if erased else ""
        return AuditReport(last, None, f"{last} entries, chain intact{note}", erased)


def version_facts(info: VersionInfo) -> dict[str, Any]:
    return {"version_id": info.id, "ref": info.ref, "storage_key": info.storage_key}


def _payload_problem(row: AuditRow, payload: AuditPayloadRow | None) -> str | None:
    """Why an entry's payload does not match its digest, or None. An erasure's entry comes after what it
    erases, so whether `erased_by` names an erasure is checked once the whole chain is read."""
    if row.payload_sha256 is None:
        return f"entry {row.seq} has a payload the chain does not know" if payload is not None else None
    if payload is None:
        return f"the payload of entry {row.seq} was deleted"
    if payload.erased_by is not None:
        if payload.erased_by <= row.seq:
            return f"the payload of entry {row.seq} is marked erased by entry {payload.erased_by}, not an erasure"
        return None
    if payload.nonce is None or payload_digest(payload.nonce, payload.before, payload.after) != row.payload_sha256:
        return f"the payload of entry {row.seq} was altered"
    return None


def _entry(row: AuditRow, payload: AuditPayloadRow | None) -> AuditEntry:
    erased = payload is not None and payload.erased_by is not None
    return AuditEntry(seq=row.seq, at=_utc(row.at), actor=row.actor, action=row.action, entity=row.entity,
                      entity_id=row.entity_id, before=payload.before if payload else None,
                      after=payload.after if payload else None, prev_hash=row.prev_hash, hash=row.hash,
                      payload_sha256=row.payload_sha256, erased=erased)
