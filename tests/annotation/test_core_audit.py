"""The hash-chained audit log: appends in the caller's transaction, database guards, tamper detection.

Tampering tests act as an attacker with database access would: drop the append-only triggers, then edit,
delete or reorder rows directly with SQL.
"""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from datatrainer.security.audit import entry_hash
from datatrainer.workspace import Workspace


def _fill(ws: Workspace, count: int = 6) -> None:
    for i in range(count):
        ws.audit.record(actor=f"user{i % 2}", action="test.event", entity="thing", entity_id=i,
                        before={"n": i - 1} if i else None, after={"n": i, "tags": ["a", i], "ü": 1.5})


def _drop_guards(engine: Engine) -> None:
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("DROP TRIGGER audit_log_no_change ON audit_log"))
        else:
            connection.execute(text("DROP TRIGGER audit_log_no_update"))
            connection.execute(text("DROP TRIGGER audit_log_no_delete"))


def _sql(ws: Workspace, statement: str, **params: object) -> None:
    with ws.catalog.engine.begin() as connection:
        connection.execute(text(statement), params)


def test_chain_links_and_verifies(workspace: Workspace) -> None:
    assert workspace.audit.verify().ok and workspace.audit.verify().entries == 0
    _fill(workspace)
    entries = workspace.audit.entries()
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5, 6]
    assert entries[0].prev_hash == "0" * 64
    for previous, entry in itertools.pairwise(entries):
        assert entry.prev_hash == previous.hash
        assert entry.hash == entry_hash(previous.hash, entry.seq, entry.at, entry.actor, entry.action, entry.entity,
                                        entry.entity_id, entry.before, entry.after)
    assert entries[3].after == {"n": 3, "tags": ["a", 3], "ü": 1.5}
    assert [e.entity_id for e in workspace.audit.entries(entity="thing", entity_id="2")] == ["2"]
    report = workspace.audit.verify()
    assert report.ok and report.entries == 6


def test_database_refuses_update_and_delete(workspace: Workspace) -> None:
    _fill(workspace, 2)
    for statement in ("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1", "DELETE FROM audit_log WHERE seq = 2"):
        with pytest.raises(DBAPIError, match="append-only"):
            _sql(workspace, statement)
    assert workspace.audit.verify().ok


def test_failed_transaction_leaves_no_entry(workspace: Workspace) -> None:
    _fill(workspace, 2)
    with pytest.raises(RuntimeError), workspace.annotation.write() as session:
        workspace.audit.append(session, actor="a", action="x", entity="e", entity_id=1)
        raise RuntimeError("the change failed")
    assert [e.seq for e in workspace.audit.entries()] == [1, 2]
    workspace.audit.record(actor="a", action="y", entity="e", entity_id=1)
    assert workspace.audit.verify().ok


def test_one_session_over_several_transactions_keeps_one_chain(workspace: Workspace) -> None:
    """The head cached for a transaction must not outlive it: a later transaction of the same session, or
    entries another session appended meanwhile, would otherwise fork the chain."""
    session = Session(workspace.catalog.engine)
    for round_ in range(3):
        with session.begin():
            workspace.audit.append(session, actor="a", action="x", entity="e", entity_id=round_)
            workspace.audit.append(session, actor="a", action="y", entity="e", entity_id=round_)
        workspace.audit.record(actor="b", action="z", entity="e", entity_id=round_)  # another session
    with pytest.raises(RuntimeError), session.begin():
        workspace.audit.append(session, actor="a", action="lost", entity="e", entity_id=9)
        raise RuntimeError("rolled back")
    with session.begin():
        workspace.audit.append(session, actor="a", action="kept", entity="e", entity_id=9)
    session.close()
    assert [e.seq for e in workspace.audit.entries()] == list(range(1, 11))
    assert workspace.audit.entries()[-1].action == "kept"
    assert workspace.audit.verify().ok


@pytest.mark.parametrize(("tamper", "broken", "reason"), [
    ("UPDATE audit_log SET after = '{\"n\": 99}' WHERE seq = 3", 3, "altered"),
    ("UPDATE audit_log SET actor = 'someone else' WHERE seq = 1", 1, "altered"),
    ("DELETE FROM audit_log WHERE seq = 4", 4, "missing"),
    ("DELETE FROM audit_log WHERE seq = 6", 6, "deleted from the end"),
])
def test_tampering_is_found(workspace: Workspace, tamper: str, broken: int, reason: str) -> None:
    _fill(workspace)
    _drop_guards(workspace.catalog.engine)
    _sql(workspace, tamper)
    report = workspace.audit.verify()
    assert report.broken_seq == broken and reason in report.reason, report


def test_reordering_is_found(workspace: Workspace) -> None:
    _fill(workspace)
    _drop_guards(workspace.catalog.engine)
    # Swap the contents of entries 2 and 3 but keep their seq numbers.
    _sql(workspace, "UPDATE audit_log SET seq = -2 WHERE seq = 2")
    _sql(workspace, "UPDATE audit_log SET seq = 2 WHERE seq = 3")
    _sql(workspace, "UPDATE audit_log SET seq = 3 WHERE seq = -2")
    assert workspace.audit.verify().broken_seq == 2


def test_rehashing_one_entry_still_breaks_the_next_link(workspace: Workspace) -> None:
    _fill(workspace)
    _drop_guards(workspace.catalog.engine)
    entry = workspace.audit.entries()[1]
    forged = entry_hash(entry.prev_hash, entry.seq, entry.at, entry.actor, entry.action, entry.entity,
                        entry.entity_id, entry.before, {"n": 1000})
    _sql(workspace, "UPDATE audit_log SET after = :after, hash = :hash WHERE seq = 2", after='{"n": 1000}',
         hash=forged)
    report = workspace.audit.verify()
    assert report.broken_seq == 3 and "does not link" in report.reason
