"""audit_payloads: audit payloads kept apart from the keyed hash chain; recorded exports; erasures

The audit chain (`audit_log`) keeps who, what, which entity and when, and a digest of the payload; the payloads
(before/after, which can hold annotation texts) move to `audit_payloads`, where erasure can reach them. Chain
hashes become HMAC-SHA256 with a key kept outside the database: existing entries are re-linked with it (the
key comes from the workspace through the migration's `audit_key` attribute), their payloads moved out.
`exports` records where versions and annotation projects (`project`, built on `version_id`) were exported
(erasure rewrites those too); `erasures` is the journal and
record of each erasure.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import context, op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_GENESIS = "0" * 64
_SQLITE_GUARDS = [
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
]
_POSTGRES_GUARDS = [
    "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
]


def _canonical(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def _iso(moment: datetime) -> str:
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")


def _chain_table(name: str, keyed: bool) -> sa.Table:
    payload = ([sa.Column("payload_sha256", sa.String(64), nullable=True)] if keyed else
               [sa.Column("before", sa.JSON(), nullable=True), sa.Column("after", sa.JSON(), nullable=True)])
    return sa.Table(
        name, sa.MetaData(),
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("entity", sa.String(100), nullable=False),
        sa.Column("entity_id", sa.String(200), nullable=False),
        *payload,
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )


def _replace_chain(rows: list[dict[str, Any]], keyed: bool) -> None:
    """Swap `audit_log` for a rebuilt table holding `rows` (the triggers forbid updating it in place)."""
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    op.execute("DROP TABLE audit_log")  # drops its triggers too
    table = _chain_table("audit_log", keyed)
    table.create(bind)
    if rows:
        op.bulk_insert(table, rows)
    head = rows[-1] if rows else {"seq": 0, "hash": _GENESIS}
    op.execute(sa.text("UPDATE audit_head SET seq = :seq, hash = :hash WHERE id = 1")
               .bindparams(seq=head["seq"], hash=head["hash"]))
    for statement in _POSTGRES_GUARDS if postgres else _SQLITE_GUARDS:
        op.execute(statement)


def upgrade() -> None:
    payloads = op.create_table(
        "audit_payloads",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("nonce", sa.String(32), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("erased_by", sa.Integer(), nullable=True),
    )
    op.create_table(
        "exports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("versions.id"), nullable=False, index=True),
        sa.Column("path", sa.String(2000), nullable=False),
        sa.Column("format", sa.String(20), nullable=False),
        sa.Column("project", sa.String(200), nullable=True),
        sa.Column("options", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "erasures",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("selector_sha256", sa.String(64), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("journal", sa.JSON(), nullable=False),
        sa.Column("receipt", sa.String(2000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    old = _chain_table("audit_log", keyed=False)
    rows = [dict(row._mapping) for row in op.get_bind().execute(sa.select(old).order_by(old.c.seq))]
    key_source: Callable[[], bytes] | None = context.config.attributes.get("audit_key")
    if rows and key_source is None:
        raise RuntimeError("migration 0005 re-keys the audit log: open the workspace with datatrainer to run it")
    key = key_source() if rows and key_source is not None else b""
    prev, chain, moved = _GENESIS, [], []
    for row in rows:
        digest = None
        if row["before"] is not None or row["after"] is not None:
            nonce = secrets.token_hex(16)
            body = _canonical({"before": row["before"], "after": row["after"]})
            digest = hashlib.sha256(bytes.fromhex(nonce) + body).hexdigest()
            moved.append({"seq": row["seq"], "nonce": nonce, "before": row["before"], "after": row["after"],
                          "erased_by": None})
        fields = {"seq": row["seq"], "at": _iso(row["at"]), "actor": row["actor"], "action": row["action"],
                  "entity": row["entity"], "entity_id": row["entity_id"], "payload": digest}
        digest_hash = hmac.new(key, prev.encode() + _canonical(fields), hashlib.sha256).hexdigest()
        chain.append({**{k: row[k] for k in ("seq", "at", "actor", "action", "entity", "entity_id")},
                      "payload_sha256": digest, "prev_hash": prev, "hash": digest_hash})
        prev = digest_hash
    if moved:
        op.bulk_insert(payloads, moved)
    _replace_chain(chain, keyed=True)


def downgrade() -> None:
    """Back to payloads inside the chain and unkeyed sha256 links (erased payloads stay empty)."""
    bind = op.get_bind()
    keyed = _chain_table("audit_log", keyed=True)
    stored = sa.table("audit_payloads", sa.column("seq"), sa.column("before", sa.JSON()),
                      sa.column("after", sa.JSON()))
    payload = {row.seq: (row.before, row.after) for row in bind.execute(sa.select(stored))}
    prev, chain = _GENESIS, []
    for row in bind.execute(sa.select(keyed).order_by(keyed.c.seq)):
        before, after = payload.get(row.seq, (None, None))
        fields = {"seq": row.seq, "at": _iso(row.at), "actor": row.actor, "action": row.action,
                  "entity": row.entity, "entity_id": row.entity_id, "before": before, "after": after}
        digest = hashlib.sha256(prev.encode() + _canonical(fields)).hexdigest()
        chain.append({"seq": row.seq, "at": row.at, "actor": row.actor, "action": row.action, "entity": row.entity,
                      "entity_id": row.entity_id, "before": before, "after": after, "prev_hash": prev,
                      "hash": digest})
        prev = digest
    _replace_chain(chain, keyed=False)
    for table in ("erasures", "exports", "audit_payloads"):
        op.drop_table(table)
