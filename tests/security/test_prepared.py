"""Prepared statements store and read values exactly as SQLAlchemy's own execution does, on both backends.

The audit chain and the token lookup run on `Prepared` statements; the reference here is the same statement run
through `Connection.execute`, compared on the text the database holds and on the values read back.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, String, cast, insert, select

from datatrainer.annotation.types import local_admin
from datatrainer.security.audit import _ADD_ENTRY, _ADD_PAYLOAD, _LOG, _PAYLOADS, _TAKE_HEAD
from datatrainer.security.tokens import token_digest
from datatrainer.security.users import _TOKEN_OWNER
from datatrainer.workspace import Workspace

_AT = datetime(2026, 12, 7, 13, 5, 9, 123456, tzinfo=UTC)
_PAYLOAD = {"before": {"state": "open", "ü": 1.5}, "after": ["a", 2, None, {"n": [1, 2]}]}


def _stored(engine: Engine, seqs: tuple[int, int]) -> list[tuple[object, ...]]:
    """The two rows as the database holds them (every column as text) and as SQLAlchemy reads them back."""
    columns = [cast(_LOG.c.at, String), _LOG.c.at, _LOG.c.actor, cast(_PAYLOADS.c.before, String),
               cast(_PAYLOADS.c.after, String), _PAYLOADS.c.before, _PAYLOADS.c.after, _PAYLOADS.c.erased_by]
    query = (select(*columns).join(_PAYLOADS, _PAYLOADS.c.seq == _LOG.c.seq).where(_LOG.c.seq.in_(seqs))
             .order_by(_LOG.c.seq))
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(query)]


def test_prepared_writes_match_sqlalchemys(workspace: Workspace) -> None:
    engine = workspace.catalog.engine
    entry = {"at": _AT, "actor": "ann", "action": "a.b", "entity": "task", "entity_id": "7",
             "payload_sha256": "0" * 64, "prev_hash": "1" * 64, "hash": "2" * 64}
    payload = {"nonce": "ab" * 16, **_PAYLOAD, "erased_by": None}
    with engine.begin() as connection:
        connection.execute(insert(_LOG), {**entry, "seq": 1001})
        connection.execute(insert(_PAYLOADS), {**payload, "seq": 1001})
        _ADD_ENTRY.execute(connection, {**entry, "seq": 1002})
        _ADD_PAYLOAD.execute(connection, {**payload, "seq": 1002})
    reference, prepared = _stored(engine, (1001, 1002))
    assert prepared == reference
    assert prepared[1] in (_AT, _AT.replace(tzinfo=None))  # SQLite hands timestamps back without their zone
    assert (prepared[5], prepared[6]) == (_PAYLOAD["before"], _PAYLOAD["after"])


def test_prepared_reads_match_sqlalchemys(workspace: Workspace) -> None:
    svc, admin = workspace.annotation, local_admin()
    svc.create_user(admin, "ann", "a-long-password")
    issued = svc.create_api_token(admin, "narrow", username="ann", scopes=["annotate"], lifetime=timedelta(days=1))
    svc.token_owner(issued.token)  # records its use: last_used is set too
    engine = workspace.catalog.engine
    with engine.connect() as connection:
        reference = tuple(connection.execute(_TOKEN_OWNER.statement, {"digest": token_digest(issued.token)}).one())
        (prepared,) = _TOKEN_OWNER.execute(connection, {"digest": token_digest(issued.token)})
    assert prepared == reference
    assert prepared[2] is False and prepared[4] == ["annotate"] and isinstance(prepared[5], datetime)
    with engine.begin() as connection:
        expected = tuple(connection.execute(_TAKE_HEAD.statement).one())
        assert _TAKE_HEAD.execute(connection, {}) == [expected]
