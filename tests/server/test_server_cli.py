"""`datatrainer serve` as a user runs it: a subprocess that serves the UI and API, and one-line errors."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
import pytest

from datatrainer.workspace import Workspace
from tests.server.site import serve_subprocess


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_starts_the_ui_and_api_and_stops_on_sigterm(tmp_path: Path, workers: str) -> None:
    Workspace.init(tmp_path / "ws").close()
    with serve_subprocess(tmp_path / "ws", "--workers", workers) as (url, server):
        assert "app.js" in httpx.get(url + "/").text
        assert httpx.get(f"{url}/api/v1/me").status_code == 401
        assert httpx.get(f"{url}/api/v1/openapi.json").json()["info"]["title"]
        if workers == "2":  # both worker processes are up, each with its own pid, under the supervisor
            children = psutil.Process(server.pid).children()
            assert len(children) >= 2
        server.terminate()
        out, err = server.communicate(timeout=30)
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status still says why it stopped
    assert server.returncode in (0, -signal.SIGTERM)
    assert "Traceback" not in err.decode()
    said = " ".join(out.decode().split())  # the console wraps long lines
    assert f"{url}/" in said and f"{workers} worker process" in said


def test_serve_on_a_folder_that_is_not_a_workspace_prints_one_line(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "datatrainer", "-w", str(tmp_path / "nope"), "serve"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert run.stderr.strip().count("\n") == 0 and "is not a datatrainer workspace" in run.stderr


def test_serve_workers_on_a_port_in_use_prints_one_line(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws").close()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = subprocess.run([sys.executable, "-m", "datatrainer", "-w", str(tmp_path / "ws"), "serve", "--port",
                              str(port), "--workers", "2"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert run.stderr.strip().count("\n") == 0 and f"cannot listen on 127.0.0.1:{port}" in run.stderr


def _listening_workers(supervisor: psutil.Process, port: int) -> list[int]:
    """Pids of the supervisor's worker processes that listen on `port` (not multiprocessing's resource
    tracker, not zombies, not a worker still importing: only a listening one takes connections)."""
    found = []
    for child in supervisor.children():
        try:
            if child.status() != psutil.STATUS_ZOMBIE and "spawn_main" in " ".join(child.cmdline()) and any(
                    c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in child.net_connections("tcp")):
                found.append(child.pid)
        except psutil.Error:  # exited meanwhile
            continue
    return found


def _wait_for(condition: Callable[[], bool], what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(what)
        time.sleep(0.2)


def test_a_worker_that_dies_is_replaced(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws").close()
    with serve_subprocess(tmp_path / "ws", "--workers", "2") as (url, server):
        supervisor, port = psutil.Process(server.pid), int(url.rsplit(":", 1)[1])
        # The server answers once one worker listens; the other may still be starting.
        _wait_for(lambda: len(_listening_workers(supervisor, port)) == 2, "two workers never listened")
        workers = _listening_workers(supervisor, port)
        psutil.Process(workers[0]).kill()
        _wait_for(lambda: len(now := _listening_workers(supervisor, port)) == 2 and workers[0] not in now,
                  "the dead worker was not replaced")
        for _ in range(20):  # connections spread over both workers; every one is answered
            assert httpx.get(url + "/api/v1/me").status_code == 401
