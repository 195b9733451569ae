"""The writer lock queues writers across processes on one SQLite catalog, and is a no-op where it need not be."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

from sqlalchemy import create_engine

from datatrainer.security.writer_lock import WriterLock

PROCESSES = 4
ROUNDS = 25


def _increment(database: str, counter: str) -> None:
    """Read, pause, write: without mutual exclusion the processes overwrite each other's increments."""
    lock = WriterLock(create_engine(f"sqlite:///{database}"))
    path = Path(counter)
    for _ in range(ROUNDS):
        with lock.hold():
            value = int(path.read_text())
            time.sleep(0.001)
            path.write_text(str(value + 1))
    lock.close()


def test_processes_holding_the_lock_never_overlap(tmp_path: Path) -> None:
    counter = tmp_path / "counter"
    counter.write_text("0")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_increment, args=(str(tmp_path / "catalog.db"), str(counter)))
               for _ in range(PROCESSES)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    assert int(counter.read_text()) == PROCESSES * ROUNDS
    assert (tmp_path / "catalog.db-writers.lock").exists()


def test_no_lock_file_for_databases_that_queue_writers_themselves(tmp_path: Path) -> None:
    assert WriterLock(create_engine("sqlite://")).path is None
    assert WriterLock(create_engine("postgresql+psycopg://u@127.0.0.1:1/db")).path is None
    assert WriterLock(create_engine(f"sqlite:///{tmp_path}/a.db")).path == tmp_path / "a.db-writers.lock"
