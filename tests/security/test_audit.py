"""The keyed, hash-chained audit log: appends in the caller's transaction, database guards, tamper detection,
payloads kept apart (erasable), the migration of existing logs, and signed exports.

Tampering tests act as an attacker with database access would: drop the append-only triggers, then edit,
delete or reorder rows directly with SQL, and recompute whatever hashes they can without the key file.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.resources
import itertools
import secrets
from pathlib import Path

import orjson
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from datatrainer.cli.app import app
from datatrainer.security.audit import ERASE_ACTION, entry_hash, payload_digest
from datatrainer.security.audit_key import chain_key_path
from datatrainer.store.catalog import make_engine
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
    key = bytes.fromhex(chain_key_path(workspace.root).read_text())
    assert chain_key_path(workspace.root).stat().st_mode & 0o077 == 0  # owner-only
    for previous, entry in itertools.pairwise(entries):
        assert entry.prev_hash == previous.hash
        assert entry.payload_sha256 == payload_digest(_nonce(workspace, entry.seq), entry.before, entry.after)
        assert entry.hash == entry_hash(key, previous.hash, entry.seq, entry.at, entry.actor, entry.action,
                                        entry.entity, entry.entity_id, entry.payload_sha256)
    assert entries[3].after == {"n": 3, "tags": ["a", 3], "ü": 1.5}
    assert [e.entity_id for e in workspace.audit.entries(entity="thing", entity_id="2")] == ["2"]
    report = workspace.audit.verify()
    assert report.ok and report.entries == 6
    columns = {c["name"] for c in inspect(workspace.catalog.engine).get_columns("audit_log")}
    assert not {"before", "after"} & columns  # the chain holds digests, never payloads


def _nonce(ws: Workspace, seq: int) -> str:
    with ws.catalog.engine.connect() as connection:
        return str(connection.execute(text("SELECT nonce FROM audit_payloads WHERE seq = :s"), {"s": seq}).scalar())


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


_CHAIN_TAMPERING = [
    ("UPDATE audit_log SET actor = 'someone else' WHERE seq = 1", 1, "altered"),
    ("DELETE FROM audit_log WHERE seq = 4", 4, "missing"),
    ("DELETE FROM audit_log WHERE seq = 6", 6, "deleted from the end"),
]
_PAYLOAD_TAMPERING = [  # the same SQL on both backends: SQLite only, to keep the suite fast
    ("UPDATE audit_payloads SET after = '{\"n\": 99}' WHERE seq = 3", 3, "payload of entry 3 was altered"),
    ("DELETE FROM audit_payloads WHERE seq = 2", 2, "payload of entry 2 was deleted"),
    ("UPDATE audit_payloads SET before = NULL, after = NULL, erased_by = 5 WHERE seq = 2", 2, "not an erasure"),
]


@pytest.mark.parametrize(("tamper", "broken", "reason"), _CHAIN_TAMPERING)
def test_tampering_is_found(workspace: Workspace, tamper: str, broken: int, reason: str) -> None:
    _tampered_at(workspace, tamper, broken, reason)


@pytest.mark.parametrize(("tamper", "broken", "reason"), _PAYLOAD_TAMPERING)
def test_payload_tampering_is_found(sqlite_workspace: Workspace, tamper: str, broken: int, reason: str) -> None:
    _tampered_at(sqlite_workspace, tamper, broken, reason)


def _tampered_at(workspace: Workspace, tamper: str, broken: int, reason: str) -> None:
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


def test_edit_with_every_later_hash_and_the_head_recomputed_is_caught(workspace: Workspace) -> None:
    """The attack the key exists for: the attacker edits entry 2 (actor and payload), then recomputes its
    payload digest, every later link and the head, consistently, with every key they can get: none (plain
    sha256) or one of their own. Without the key file the chain still fails at the edited entry."""
    _fill(workspace)
    _drop_guards(workspace.catalog.engine)
    for attacker_key in (b"", secrets.token_bytes(32)):
        _sql(workspace, "UPDATE audit_payloads SET after = :after WHERE seq = 2", after='{"n": 1000}')
        prev = workspace.audit.entries()[0].hash
        for entry in workspace.audit.entries(after_seq=1):
            actor = "mallory" if entry.seq == 2 else entry.actor
            digest = payload_digest(_nonce(workspace, entry.seq), entry.before, entry.after)
            body = {"seq": entry.seq, "at": entry.at.isoformat(timespec="microseconds"), "actor": actor,
                    "action": entry.action, "entity": entry.entity, "entity_id": entry.entity_id, "payload": digest}
            canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
            forged = (hmac.new(attacker_key, prev.encode() + canonical, hashlib.sha256).hexdigest() if attacker_key
                      else hashlib.sha256(prev.encode() + canonical).hexdigest())
            _sql(workspace, "UPDATE audit_log SET actor = :actor, payload_sha256 = :digest, prev_hash = :prev, "
                 "hash = :hash WHERE seq = :seq", actor=actor, digest=digest, prev=prev, hash=forged, seq=entry.seq)
            prev = forged
        _sql(workspace, "UPDATE audit_head SET hash = :hash", hash=prev)
        report = workspace.audit.verify()
        assert report.broken_seq == 2 and "keyed hash mismatch" in report.reason, report
    # And through the CLI: one line, exit 1.
    result = CliRunner().invoke(app, ["-w", str(workspace.root), *_db(workspace), "audit", "verify"])
    assert result.exit_code == 1 and "entry 2" in str(result.exception)


def _db(ws: Workspace) -> list[str]:
    return [] if ws.catalog.url.startswith("sqlite") else ["--db-url", ws.catalog.url]


def test_erased_payloads_keep_the_chain_valid(sqlite_workspace: Workspace) -> None:
    workspace = sqlite_workspace
    _fill(workspace)
    with workspace.audit.transaction() as session:
        erasure = workspace.audit.append(session, actor="a", action=ERASE_ACTION, entity="erasure", entity_id=1)
        assert workspace.audit.erase_payloads(session, [2, 3], erasure.seq) == 2
    entries = workspace.audit.entries()
    assert [e.erased for e in entries[:4]] == [False, True, True, False]
    assert entries[1].before is None and entries[1].after is None
    report = workspace.audit.verify()
    assert report.ok and report.erased_payloads == 2, report


def test_missing_key_file_is_one_line(sqlite_workspace: Workspace) -> None:
    workspace = sqlite_workspace
    _fill(workspace, 1)
    root, url = workspace.root, workspace.catalog.url
    workspace.close()
    chain_key_path(root).unlink()
    result = CliRunner().invoke(app, ["-w", str(root), *([] if url.startswith("sqlite") else ["--db-url", url]),
                                      "audit", "verify"])
    assert result.exit_code == 1 and "audit key" in str(result.exception) and "is missing" in str(result.exception)
    assert not chain_key_path(root).exists()


def _alembic(url: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(importlib.resources.files("datatrainer.store") / "migrations"))
    engine = make_engine(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    engine.dispose()


def test_migration_moves_payloads_out_of_the_chain_and_keys_it(tmp_path: Path, catalog_url: str | None) -> None:
    """A workspace at 0004 whose (unkeyed) log holds an annotation text: after opening, the text is only in
    the erasable payload table, the chain verifies with the new key, and appends continue it."""
    root = tmp_path / "old"
    for sub in ("versions", "tmp"):
        (root / sub).mkdir(parents=True)
    (root / "datatrainer.toml").write_text("")
    url = catalog_url or f"sqlite:///{root / 'catalog.db'}"
    _alembic(url, "0004")
    engine = make_engine(url)
    prev = "0" * 64
    with engine.begin() as connection:
        for seq, after in ((1, {"text": "Secret Subject Text"}), (2, None)):
            at = "2026-01-02T03:04:05.000006+00:00"
            body = {"seq": seq, "at": at, "actor": "u", "action": "annotation.submit", "entity": "task",
                    "entity_id": str(seq), "before": None, "after": after}
            digest = hashlib.sha256(prev.encode() + orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
            connection.execute(text("INSERT INTO audit_log (seq, at, actor, action, entity, entity_id, before, after, "
                                    "prev_hash, hash) VALUES (:seq, :at, 'u', 'annotation.submit', 'task', :eid, "
                                    "NULL, :after, :prev, :hash)"),
                               {"seq": seq, "at": "2026-01-02 03:04:05.000006", "eid": str(seq), "prev": prev,
                                "hash": digest, "after": orjson.dumps(after).decode() if after else None})
            prev = digest
        connection.execute(text("UPDATE audit_head SET seq = 2, hash = :h"), {"h": prev})
    engine.dispose()
    with Workspace.open(root, db_url=catalog_url) as ws:
        assert ws.audit.verify().ok
        assert ws.audit.entries()[0].after == {"text": "Secret Subject Text"}
        ws.audit.record(action="x", entity="e", entity_id=1)
        assert ws.audit.verify().entries == 3 and ws.audit.verify().ok
        with ws.catalog.engine.connect() as connection:
            chain = connection.execute(text("SELECT * FROM audit_log")).all()
        assert "Secret Subject Text" not in repr(chain)
        with pytest.raises(DBAPIError, match="append-only"):
            _sql(ws, "DELETE FROM audit_log WHERE seq = 1")  # the rebuilt table is guarded again


def test_signed_export_verifies_and_detects_changes(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    ws = sqlite_workspace
    _fill(ws, 3)
    runner = CliRunner()
    out = tmp_path / "audit.jsonl"
    result = runner.invoke(app, ["-w", str(ws.root), "audit", "export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    public = tmp_path / "audit.pub"
    public.write_text(runner.invoke(app, ["-w", str(ws.root), "audit", "public-key"]).output)
    check = ["audit", "verify-export", str(out), "--public-key", str(public)]
    result = runner.invoke(app, check)
    assert result.exit_code == 0 and "3 entries" in result.output, result.output
    out.write_bytes(out.read_bytes().replace(b'"user1"', b'"userX"', 1))
    result = runner.invoke(app, check)
    assert result.exit_code == 1 and "signature does not match" in str(result.exception)
    other = tmp_path / "other.pub"
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from datatrainer.security.audit_export import public_pem

    other.write_bytes(public_pem(Ed25519PrivateKey.generate().public_key()))
    result = runner.invoke(app, ["audit", "verify-export", str(out), "--public-key", str(other)])
    assert result.exit_code == 1


def test_data_changes_are_audited_without_text(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    from datatrainer.security.audit import acting_as

    ws = sqlite_workspace
    source = tmp_path / "r.jsonl"
    source.write_text('{"id": "a", "text": "Quentin Quillfeather private text"}\n{"id": "b", "text": "other"}\n')
    v1 = ws.ingest(source, "docs")
    with acting_as("api:alice"):
        v2 = ws.apply("filter", [v1.ref], {"where": "text LIKE '%Quillfeather%'"}, name="picked")
    entries = [e for e in ws.audit.entries(limit=None) if e.action == "version.publish"]
    assert [(e.entity_id, e.actor) for e in entries] == [(str(v1.info.id), entries[0].actor),
                                                         (str(v2.info.id), "api:alice")]
    assert entries[0].actor.startswith("local:")
    assert entries[1].after["parents"] == ["docs@1"] and entries[1].after["operation"] == "filter"
    assert "Quillfeather" not in repr([(e.before, e.after) for e in ws.audit.entries(limit=None)])
    assert ws.audit.verify().ok
