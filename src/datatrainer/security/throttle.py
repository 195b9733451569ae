"""Login lockout: after a few failed passwords a user name is locked for a while, growing with each failure.

Each password check costs an Argon2 hash (tens of milliseconds of CPU on purpose); without a limit, bad logins
can keep every server thread hashing. A locked name is refused before any hash is computed, and the lock is
kept in the catalog, so every server process (and a restarted one) honours it. Names are counted as typed,
whether or not such a user exists, so a lockout reveals nothing about which accounts exist.

The lock doubles from `BASE_LOCK` after `FREE_FAILURES` consecutive failures, up to `MAX_LOCK`; a correct
password after the lock ends clears the count. Attempts while locked do not extend the lock, so the owner of
the account can log in once it ends even while someone keeps guessing.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete

from datatrainer.errors import DatatrainerError
from datatrainer.security.models import LoginThrottleRow
from datatrainer.security.transactions import Transactions

FREE_FAILURES = 5
BASE_LOCK = timedelta(seconds=30)
MAX_LOCK = timedelta(minutes=15)
FORGET_AFTER = timedelta(days=1)  # rows of names nobody tried for this long are removed


class LoginLocked(DatatrainerError):
    """Too many failed logins for one user name; `retry_after` is in whole seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins: try again in {retry_after} s")
        self.retry_after = retry_after


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def lock_for(failures: int) -> timedelta | None:
    """How long a name is locked after `failures` consecutive failures (None: not yet)."""
    if failures < FREE_FAILURES:
        return None
    doubled: timedelta = BASE_LOCK * 2 ** min(failures - FREE_FAILURES, 20)
    return min(doubled, MAX_LOCK)


class LoginThrottle:
    def __init__(self, db: Transactions) -> None:
        self._db = db

    def check(self, username: str, now: datetime | None = None) -> None:
        """Raise `LoginLocked` while the name is locked."""
        moment = now or datetime.now(UTC)
        with self._db.read() as session:
            row = session.get(LoginThrottleRow, username)
            until = _utc(row.locked_until) if row is not None and row.locked_until is not None else None
        if until is not None and moment < until:
            raise LoginLocked(max(1, math.ceil((until - moment).total_seconds())))

    def failed(self, username: str, user_id: int | None) -> None:
        """Count a failure; a new lock of an existing account is audited (by id: a typed name may be a password)."""
        now = datetime.now(UTC)
        with self._db.write() as session:
            row = session.get(LoginThrottleRow, username)
            if row is None:
                session.execute(delete(LoginThrottleRow).where(LoginThrottleRow.last_failure < now - FORGET_AFTER))
                row = LoginThrottleRow(username=username, failures=0, last_failure=now, locked_until=None)
                session.add(row)
            row.failures += 1
            row.last_failure = now
            lock = lock_for(row.failures)
            if lock is not None:
                row.locked_until = now + lock
                if user_id is not None:
                    self._db.audit.append(session, actor="anonymous", action="user.lockout", entity="user",
                                          entity_id=user_id, after={"failures": row.failures,
                                                                    "seconds": int(lock.total_seconds())})

    def succeeded(self, username: str) -> None:
        with self._db.read() as session:
            known = session.get(LoginThrottleRow, username) is not None
        if known:
            with self._db.write() as session:
                session.execute(delete(LoginThrottleRow).where(LoginThrottleRow.username == username))
