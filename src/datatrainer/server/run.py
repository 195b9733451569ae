"""Serving the app with uvicorn: in the foreground for `datatrainer serve`, in a thread for tests and benchmarks.

The catalog database is the only shared state, so a server may run several worker processes on one port
(`datatrainer.server.workers`). Within a process, concurrency comes from the thread pool
that runs the routes' database work; one interpreter lock runs all of its Python, so on a machine with more
than one core the worker processes are what use the others. Writers of every process queue on the catalog's
`WriterLock` (a file lock for SQLite) rather than in SQLite's sleeping busy handler.
"""

from __future__ import annotations

import gc
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI


def uvicorn_config(app: FastAPI, host: str, port: int, access_log: bool) -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, access_log=access_log, log_level="warning",
                          timeout_graceful_shutdown=5)


def freeze_startup_objects() -> None:
    """Move the objects created while starting (modules, the app, the database engine), which live as long as
    the process, out of the garbage collector's reach: otherwise every full collection walks all of them, and
    under 50 annotators one such collection stalled every request for 150-200 ms (2 s on a busy machine)."""
    gc.collect()
    gc.freeze()


def serve(app: FastAPI, host: str, port: int) -> None:
    """Run one process until Ctrl-C."""
    freeze_startup_objects()
    uvicorn.Server(uvicorn_config(app, host, port, access_log=True)).run()


@contextmanager
def serve_in_thread(app: FastAPI, host: str = "127.0.0.1") -> Iterator[str]:
    """Start the app on a free port in a daemon thread; yield its base URL; stop it on exit.

    The socket is bound here, before the thread starts, so the port is known and no other process can take
    it between choosing and binding.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(app, host, port, access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the annotation server did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
