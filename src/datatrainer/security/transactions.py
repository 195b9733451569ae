"""Short sessions on the catalog database, and write transactions that hold the audit lock.

Every state change in users and annotation goes through `write()`: the transaction takes the audit lock
before it reads anything, so the read-decide-write steps of concurrent callers (e.g. two annotators asking
for the next task) run one after the other, and the audit entries they append form one chain.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from datatrainer.security.audit import AuditLog


class Transactions:
    def __init__(self, engine: Engine, audit: AuditLog) -> None:
        self._engine = engine  # for a bare connection where a session's bookkeeping would cost more than the query
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self.audit = audit

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction holding the audit lock from its first statement; commits on success."""
        with self.audit.transaction() as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._sessions() as session:
            yield session
