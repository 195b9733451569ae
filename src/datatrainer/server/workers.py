"""Several server processes on one port, each with its own listening socket (`SO_REUSEPORT`).

Why not uvicorn's own `workers=`: its workers share one listening socket, and whichever event loop wakes first
accepts every connection waiting, so a burst of clients lands unevenly (measured: 41 of 50 annotators on one
of two workers, which then answered twice as slowly as the other). With one socket per worker the kernel
spreads new connections over the workers by a hash of their addresses.

The parent keeps the port bound (without listening, so it takes no connections): a port that is already in
use fails at once in one line, and no other program can take it while a worker restarts. Workers that die are
restarted; one that dies before it listens (a bad workspace or database) stops the server instead of looping.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import time
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event
from types import FrameType

import uvicorn

from datatrainer.errors import DatatrainerError

STOP_TIMEOUT_S = 10.0


def _bound_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise DatatrainerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return sock


class _Worker(uvicorn.Server):
    """A uvicorn server that tells the supervisor once it listens."""

    def __init__(self, config: uvicorn.Config, listening: Event) -> None:
        super().__init__(config)
        self.listening = listening

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.listening.set()


def _worker(host: str, port: int, listening: Event) -> None:
    """One worker process: build the app from the environment, listen on its own socket, serve until told."""
    from datatrainer.server.app import app_from_environment
    from datatrainer.server.run import uvicorn_config

    app = app_from_environment()
    sock = _bound_socket(host, port)
    _Worker(uvicorn_config(app, host, port, access_log=True), listening).run(sockets=[sock])


def serve_workers(workers: int, host: str, port: int, environment: dict[str, str]) -> None:
    """Run `workers` processes until SIGINT/SIGTERM; `environment` names the workspace, database and threads
    (see `datatrainer.server.app.app_from_environment`)."""
    if not hasattr(socket, "SO_REUSEPORT"):
        raise DatatrainerError("--workers above 1 needs SO_REUSEPORT, which this system lacks: use --workers 1")
    os.environ.update(environment)  # the spawned workers inherit it
    holder = _bound_socket(host, port)
    context = multiprocessing.get_context("spawn")
    stopping = False

    def stop(signum: int, _: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    def start() -> tuple[BaseProcess, Event]:
        listening = context.Event()
        process = context.Process(target=_worker, args=(host, port, listening), name="datatrainer-serve-worker")
        process.start()
        return process, listening

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    running = [start() for _ in range(workers)]
    try:
        while not stopping:
            time.sleep(0.2)
            for index, (process, listening) in enumerate(running):
                if process.is_alive() or stopping:
                    continue
                if not listening.is_set():
                    raise DatatrainerError(f"a server worker exited before it listened (exit code {process.exitcode})")
                running[index] = start()
    finally:
        for process, _ in running:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)  # uvicorn finishes open requests, then exits
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for process, _ in running:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        holder.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
