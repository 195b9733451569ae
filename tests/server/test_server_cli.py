"""`datatrainer serve` as a user runs it: a subprocess that serves the UI and API, and one-line errors."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from datatrainer.workspace import Workspace


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_starts_the_ui_and_api_and_stops_on_sigterm(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws").close()
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "datatrainer", "-w", str(tmp_path / "ws"), "serve",
                               "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline, page = time.monotonic() + 60, None
        while page is None and time.monotonic() < deadline:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
            except httpx.TransportError:
                time.sleep(0.2)
        assert page is not None and page.status_code == 200 and "app.js" in page.text
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/me").status_code == 401
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/openapi.json").json()["info"]["title"]
    finally:
        server.terminate()
        out, err = server.communicate(timeout=30)
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status still says why it stopped
    assert server.returncode in (0, -signal.SIGTERM)
    assert "Traceback" not in err.decode()
    assert f"http://127.0.0.1:{port}/" in out.decode()


def test_serve_on_a_folder_that_is_not_a_workspace_prints_one_line(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "datatrainer", "-w", str(tmp_path / "nope"), "serve"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert run.stderr.strip().count("\n") == 0 and "is not a datatrainer workspace" in run.stderr
