"""Interrupting a CLI run mid-way, for the resume tests.

The test watches the run's output folder and signals the run once it has stored something. On a busy machine
the watcher can be kept off the CPU long enough for the whole run to finish first (seen in CI: exit 0 where
130 was expected), so the run starts at a lower priority than the watcher, which polls often.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

POLL_SECONDS = 0.01


def _child_setup() -> None:
    """Lower the run's priority, and give it back Ctrl-C: a test suite started in the background by a
    non-interactive shell (`cmd &`) inherits SIGINT as ignored, and Python then never installs its handler."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.nice(10)


def signal_when(args: list[object], ready: Callable[[], bool], sig: signal.Signals,
                timeout: float) -> tuple[subprocess.Popen[str], str]:
    """Run `datatrainer ARGS`, send `sig` as soon as `ready()` holds; return the ended process and its stdout."""
    process = subprocess.Popen(
        [sys.executable, "-m", "datatrainer", "--no-progress", *map(str, args)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "200"},
        preexec_fn=_child_setup)
    deadline = time.monotonic() + timeout
    while not ready() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
    process.send_signal(sig)
    stdout, _ = process.communicate(timeout=120)
    return process, stdout
