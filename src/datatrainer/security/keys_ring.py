"""`ws.keys`: the workspace's key ring, the data keys of encrypted files wrapped by the master key.

A workspace is encrypted once `workspace_keys` holds its row (written by `datatrainer init --encrypt` or
`datatrainer encrypt`); from then on every version, artifact and cache shard is written encrypted under a
data key stored here, wrapped by the master key of the workspace's `KeyProvider`. The master key is unlocked
once per process on first use and checked against a stored check value, so a wrong passphrase is reported as
such instead of surfacing later as undecryptable files.

Rotation (`rotate`) re-wraps every data key under a new master key in one transaction with its audit entry;
files are not touched. A data key recorded by a writer that unlocked the previous master key is refused at
commit (the generation is checked under the row lock), so no key is ever stored under a retired master key.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from datatrainer.errors import DatatrainerError
from datatrainer.security import keys_columns
from datatrainer.security.keys import KeyProvider, UnwrapError, WrongKeyError, open_provider
from datatrainer.security.keys_columns import CATALOG_KEY
from datatrainer.security.keys_models import DataKeyRow, WorkspaceKeyRow
from datatrainer.store.encryption import KEY_BYTES, FileCrypto

if TYPE_CHECKING:
    from datatrainer.security.audit import AuditLog

CHECK_KEY_ID = "workspace-check"
RECHECK_S = 2.0  # how long a plaintext answer is trusted by the sealed columns (a query per row otherwise)


@dataclass(frozen=True)
class KeyStatus:
    provider: str
    settings: dict[str, object]
    generation: int
    data_keys: dict[str, int]  # kind -> count
    created_at: datetime
    rotated_at: datetime | None


class KeyRing:
    """Creates, unlocks, stores and rotates keys; implements `store.encryption.DataKeys`."""

    def __init__(self, engine: Engine, workspace: str) -> None:
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self.workspace = workspace
        self._lock = threading.Lock()
        self._settings: WorkspaceKeyRow | None = None
        self._looked = False
        self._provider: KeyProvider | None = None
        self._generation = 0  # of the unlocked master key
        self._wrapped_under: dict[str, int] = {}  # key id -> generation its new key was wrapped under
        self._keys: dict[str, FileCrypto] = {}
        self._plain_until = 0.0  # monotonic time until which `column_key` trusts "not encrypted"
        keys_columns.bind(engine, self)

    # --- state ---------------------------------------------------------------------------------------------

    def _row(self) -> WorkspaceKeyRow | None:
        """The settings row, read once: encryption is switched on once and never off."""
        if not self._looked:
            with self._sessions() as session:
                self._settings = session.get(WorkspaceKeyRow, 1)
            self._looked = self._settings is not None
        return self._settings

    @property
    def encrypted(self) -> bool:
        return self._row() is not None

    def status(self) -> KeyStatus | None:
        row = self._row()
        if row is None:
            return None
        with self._sessions() as session:
            counts: dict[str, int] = {}
            for kind in session.scalars(select(DataKeyRow.kind)):
                counts[kind] = counts.get(kind, 0) + 1
        return KeyStatus(row.provider, dict(row.settings), row.generation, counts, row.created_at, row.rotated_at)

    def setup(self, provider: KeyProvider) -> bool:
        """Switch encryption on with this provider's master key; False (and nothing changes) when the
        workspace is already encrypted, so `init --encrypt` and `encrypt` can be re-run."""
        if self.encrypted:
            return False
        check, catalog = secrets.token_bytes(KEY_BYTES), secrets.token_bytes(KEY_BYTES)
        try:
            with self._sessions.begin() as session:
                session.add(WorkspaceKeyRow(id=1, provider=provider.kind, settings=provider.settings(),
                                            check_wrapped=provider.wrap(check, CHECK_KEY_ID), generation=1,
                                            created_at=datetime.now(UTC)))
                # The sealed catalog columns' key comes with encryption: a writer sealing a value is inside
                # its own transaction, and could not create it then.
                session.add(DataKeyRow(key_id=CATALOG_KEY, kind=CATALOG_KEY, generation=1,
                                       wrapped=provider.wrap(catalog, CATALOG_KEY), created_at=datetime.now(UTC)))
        except IntegrityError:  # another process switched it on first: use theirs
            self._looked = False
            return False
        self._looked, self._plain_until = False, 0.0
        self._provider, self._generation = provider, 1
        self._keys[CATALOG_KEY] = FileCrypto(CATALOG_KEY, catalog)
        return True

    def column_key(self, recheck: bool = False) -> FileCrypto | None:
        """The key of the sealed catalog columns; None in a plaintext workspace. Called for every value
        written, so a plaintext answer is trusted for `RECHECK_S` seconds unless `recheck` (a process notices
        within that time that another one switched encryption on)."""
        key = self._keys.get(CATALOG_KEY)
        if key is not None:
            return key
        if not recheck and time.monotonic() < self._plain_until:
            return None
        if not self.encrypted:
            self._plain_until = time.monotonic() + RECHECK_S
            return None
        key = self.crypto(CATALOG_KEY)
        if key is None:
            raise DatatrainerError(f"workspace {self.workspace} was encrypted before its catalog's record texts "
                                   "were; run `datatrainer encrypt` once to encrypt them")
        return key

    # --- the master key ------------------------------------------------------------------------------------

    def provider(self) -> KeyProvider:
        """The unlocked master key (checked once per process)."""
        with self._lock:
            return self._unlocked()

    def _unlocked(self) -> KeyProvider:
        """`provider()` for a caller holding the lock."""
        if self._provider is None:
            row = self._row()
            if row is None:
                raise DatatrainerError(f"workspace {self.workspace} is not encrypted")
            provider = open_provider(row.provider, dict(row.settings), self.workspace)
            _check(provider, row.check_wrapped, self.workspace)
            self._provider, self._generation = provider, row.generation
        return self._provider

    # --- data keys (store.encryption.DataKeys) -------------------------------------------------------------

    def new_key(self, key_id: str, kind: str) -> tuple[FileCrypto, bytes]:
        key = secrets.token_bytes(KEY_BYTES)
        with self._lock:
            wrapped = self._unlocked().wrap(key, key_id)
            self._wrapped_under[key_id] = self._generation
        return FileCrypto(key_id, key), wrapped

    def record(self, session: Session, key_id: str, kind: str, wrapped: bytes) -> None:
        row = session.scalar(select(WorkspaceKeyRow).where(WorkspaceKeyRow.id == 1).with_for_update())
        with self._lock:
            generation = self._wrapped_under.pop(key_id, self._generation)
        if row is None or row.generation != generation:
            if row is not None and row.generation != self._generation:
                self._forget_master()  # rotated by another process: the next attempt unlocks the current key
            raise DatatrainerError(f"the master key of workspace {self.workspace} was rotated while this was "
                                   "written; nothing was published, run the command again")
        session.add(DataKeyRow(key_id=key_id, kind=kind, wrapped=wrapped, generation=row.generation,
                               created_at=datetime.now(UTC)))

    def crypto(self, key_id: str) -> FileCrypto | None:
        if key_id in self._keys:
            return self._keys[key_id]
        with self._sessions() as session:
            row = session.get(DataKeyRow, key_id)
        if row is None:
            return None
        if row.generation != self._generation:
            self._forget_master()  # rotated by another process since this one unlocked: unlock the new key
        key = _unwrap(self.provider(), row.wrapped, key_id, self.workspace)
        self._keys[key_id] = FileCrypto(key_id, key)
        return self._keys[key_id]

    def ensure(self, key_id: str, kind: str) -> FileCrypto:
        found = self.crypto(key_id)
        if found is not None:
            return found
        crypto, wrapped = self.new_key(key_id, kind)
        try:
            with self._sessions.begin() as session:
                self.record(session, key_id, kind, wrapped)
        except IntegrityError:  # created by another writer meanwhile: theirs encrypts the folder
            found = self.crypto(key_id)
            assert found is not None
            return found
        self._keys[key_id] = crypto
        return crypto

    def _forget_master(self) -> None:
        with self._lock:
            self._provider, self._looked = None, False

    def forget(self, session: Session, key_ids: list[str]) -> None:
        """Delete data keys in the caller's transaction: what they encrypted is unreadable from then on."""
        session.execute(delete(DataKeyRow).where(DataKeyRow.key_id.in_(key_ids)))
        for key_id in key_ids:
            self._keys.pop(key_id, None)

    # --- rotation ------------------------------------------------------------------------------------------

    def rotate(self, new: KeyProvider, audit: AuditLog, actor: str) -> int:
        """Re-wrap every data key (and the check value) under `new`, with an audit entry, in one
        transaction; returns how many data keys were re-wrapped. The files stay byte for byte the same."""
        old = self.provider()
        with audit.transaction() as session:
            row = session.scalar(select(WorkspaceKeyRow).where(WorkspaceKeyRow.id == 1).with_for_update())
            assert row is not None
            check = _unwrap(old, row.check_wrapped, CHECK_KEY_ID, self.workspace)
            rows = list(session.scalars(select(DataKeyRow).order_by(DataKeyRow.key_id)))
            for data_key in rows:
                data_key.wrapped = new.wrap(_unwrap(old, data_key.wrapped, data_key.key_id, self.workspace),
                                            data_key.key_id)
                data_key.generation = row.generation + 1
            before = {"provider": row.provider, "generation": row.generation}
            row.provider, row.settings = new.kind, new.settings()
            row.check_wrapped, row.generation = new.wrap(check, CHECK_KEY_ID), row.generation + 1
            row.rotated_at, generation = datetime.now(UTC), row.generation
            audit.append(session, actor=actor, action="keys.rotate", entity="workspace_keys", entity_id=1,
                         before=before, after={"provider": new.kind, "generation": row.generation,
                                               "data_keys": len(rows)})
        with self._lock:
            self._provider, self._generation, self._looked = new, generation, False
        return len(rows)


def _check(provider: KeyProvider, check_wrapped: bytes, workspace: str) -> None:
    _unwrap(provider, check_wrapped, CHECK_KEY_ID, workspace, wrong_master=True)


def _unwrap(provider: KeyProvider, wrapped: bytes, key_id: str, workspace: str, wrong_master: bool = False) -> bytes:
    try:
        return provider.unwrap(wrapped, key_id)
    except UnwrapError:
        if wrong_master:
            raise WrongKeyError(provider.wrong_key(workspace)) from None
        raise DatatrainerError(f"the data key {key_id} of workspace {workspace} does not unwrap with its master "
                               "key (the catalog row was altered)") from None
