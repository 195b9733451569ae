"""The lock that puts the catalog's writers in a queue, across threads and across server processes.

SQLite admits one writer at a time, and a writer that finds the database locked waits in SQLite's busy handler,
which polls with sleeps of up to 100 ms and lets newcomers overtake it. Writers therefore queue here before
they touch the database: on a Python lock within a process, and, for a SQLite file, on an exclusive `flock` of
a file beside the database, which the kernel hands to the next waiter the moment it is released. That is what
lets several server processes share one SQLite catalog without the busy handler's stalls. PostgreSQL needs
neither: its row lock on the audit head already queues writers without polling.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine


class WriterLock:
    def __init__(self, engine: Engine) -> None:
        database = engine.url.database
        file_backed = engine.dialect.name == "sqlite" and database not in (None, "", ":memory:")
        self.path = Path(f"{database}-writers.lock") if file_backed else None
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._fd_pid = 0

    @contextmanager
    def hold(self) -> Iterator[None]:
        with self._threads:
            if self.path is None:
                yield
                return
            fd = self._descriptor()
            fcntl.flock(fd, fcntl.LOCK_EX)  # blocks without the GIL
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _descriptor(self) -> int:
        """One descriptor per process (a forked child must not share its parent's: flock follows descriptors)."""
        if self._fd is None or self._fd_pid != os.getpid():
            assert self.path is not None
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._fd_pid = os.getpid()
        return self._fd

    def close(self) -> None:
        if self._fd is not None and self._fd_pid == os.getpid():
            os.close(self._fd)
        self._fd = None
