"""Sealed catalog columns: the record text the catalog keeps, encrypted in an encrypted workspace.

Annotation tasks carry their record's text, and annotations, suggestions, reviews and audit payloads may
quote it. Those columns are declared with `SealedJSON` / `SealedText`; in an encrypted workspace every value
written to them is sealed with AES-GCM under the workspace's catalog data key (`CATALOG_KEY` in the key
ring, wrapped by the master key like every data key) and opened again when read, so the service, the server
and erasure see plain values while the database file, its WAL and its backups hold only ciphertext. The
column's name is authenticated with each value, so a sealed value copied into another column does not open.

The types find the key ring through the engine's dialect (`bind`, called by `KeyRing`): SQLAlchemy hands a
type only the dialect. In a plaintext workspace values are stored as they are, and a value written before
encryption was switched on reads back as it was (`datatrainer encrypt` seals those in place:
`seal_catalog`). Sealed JSON values are stored as `{"dt_sealed": base64}`, sealed text as `dt_sealed:base64`,
so no schema change was needed and SQL never has to look inside them.
"""

from __future__ import annotations

import base64
import weakref
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import JSON, Column, Engine, Table, Text, select, type_coerce, update
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from datatrainer.errors import DatatrainerError
from datatrainer.store.encryption import open_sealed, seal_bytes

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from datatrainer.security.keys_ring import KeyRing

CATALOG_KEY = "catalog"  # key id (and kind) of the data key that seals catalog columns
MARK = "dt_sealed"
_TEXT_PREFIX = MARK + ":"
_PAGE = 1000
_RINGS: weakref.WeakKeyDictionary[Dialect, weakref.ref[KeyRing]] = weakref.WeakKeyDictionary()


def bind(engine: Engine, ring: KeyRing) -> None:
    """Let the sealed columns of `engine`'s catalog find their key in `ring`."""
    _RINGS[engine.dialect] = weakref.ref(ring)


def _ring(dialect: Dialect) -> KeyRing | None:
    found = _RINGS.get(dialect)
    return found() if found is not None else None


def _seal_key(dialect: Dialect) -> bytes | None:
    """The catalog key to seal with, or None when the workspace is not encrypted (checked before a value is
    serialised, so plaintext workspaces pay for no second encoding of every value)."""
    ring = _ring(dialect)
    key = ring.column_key() if ring is not None else None
    return key.key if key is not None else None


def _seal(key: bytes, plain: bytes, column: str) -> str:
    """base64 of `plain` sealed under the catalog key."""
    return base64.b64encode(seal_bytes(key, plain, column)).decode()


def _open(dialect: Dialect, sealed: str, column: str) -> bytes:
    ring = _ring(dialect)
    key = ring.column_key(recheck=True) if ring is not None else None
    if key is None:
        raise DatatrainerError(f"{column} holds a value sealed by an encrypted workspace, and this catalog "
                               "connection has no key for it (open it through its workspace)")
    try:
        return open_sealed(key.key, base64.b64decode(sealed), column)
    except Exception as exc:  # cryptography's InvalidTag
        raise DatatrainerError(f"a sealed value of {column} does not open with the workspace's catalog key "
                               "(altered, or moved from another column)") from exc


class SealedJSON(TypeDecorator[Any]):
    """A JSON column whose values are sealed in an encrypted workspace."""

    impl = JSON
    cache_ok = True

    def __init__(self, column: str) -> None:
        super().__init__()
        self.column = column

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        key = None if value is None else _seal_key(dialect)
        if key is None:
            return value
        return {MARK: _seal(key, orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS), self.column)}

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, dict) and len(value) == 1 and isinstance(value.get(MARK), str):
            return orjson.loads(_open(dialect, value[MARK], self.column))
        return value


class SealedText(TypeDecorator[str]):
    """A text column whose values are sealed in an encrypted workspace (empty strings stay empty)."""

    impl = Text
    cache_ok = True

    def __init__(self, column: str) -> None:
        super().__init__()
        self.column = column

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if not value:
            return value
        key = _seal_key(dialect)
        return value if key is None else _TEXT_PREFIX + _seal(key, value.encode(), self.column)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is not None and value.startswith(_TEXT_PREFIX):
            return _open(dialect, value[len(_TEXT_PREFIX):], self.column).decode()
        return value


def _is_sealed(raw: Any) -> bool:
    if isinstance(raw, dict):
        return len(raw) == 1 and MARK in raw
    return isinstance(raw, str) and raw.startswith(_TEXT_PREFIX)


def seal_catalog(session: Session) -> int:
    """Seal, in the caller's transaction, every value of a sealed column still stored in the clear (written
    before the workspace was encrypted); returns how many values were sealed. Re-running seals nothing."""
    import datatrainer.annotation.models
    import datatrainer.security.models  # noqa: F401  (the tables with sealed columns, registered on Base)
    from datatrainer.store.models import Base

    sealed = 0
    for table in Base.metadata.sorted_tables:
        key = list(table.primary_key.columns)
        if len(key) != 1:
            continue
        for column in table.columns:
            if not isinstance(column.type, SealedJSON | SealedText):
                continue
            sealed += _seal_column(session, table, key[0], column)
    return sealed


def _seal_column(session: Session, table: Table, key: Column[Any], column: Column[Any]) -> int:
    """`seal_catalog` for one column, in pages of `_PAGE` rows (a large project fits in no memory at once)."""
    raw = type_coerce(column, JSON() if isinstance(column.type, SealedJSON) else Text())  # as stored
    sealed, last = 0, None
    while True:
        query = select(key, raw).where(column.is_not(None)).order_by(key).limit(_PAGE)
        page = session.execute(query if last is None else query.where(key > last)).all()
        for row_id, value in page:
            if value not in (None, "") and not _is_sealed(value):
                session.execute(update(table).where(key == row_id).values({column.name: value}))
                sealed += 1
        if len(page) < _PAGE:
            return sealed
        last = page[-1][0]
