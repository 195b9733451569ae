"""Run untrusted generated code in a separate, locked-down process and report whether it passed.

Never `exec` in our own process: every program runs in a fresh `python -I` (no user site, no PYTHON*
variables, no current folder on sys.path) started with an empty environment in a new session, inside a new
network namespace with no interfaces (`unshare -rn`, where the kernel allows unprivileged user namespaces;
otherwise the child's audit hook refusing sockets is the only network barrier, and `Sandbox.network` says
so). The child (`_child.py`) sets resource limits on itself (CPU seconds, address space, file size,
processes, open files) and an audit hook before the program's first line. Here the parent enforces the
wall-clock timeout by killing the whole process group, sends stdout and stderr to size-limited files (a
program that prints forever cannot fill our memory), and deletes the temporary folder afterwards.

Any way the program ends other than running to the end with status 0 is a failure, with a short reason.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import signal
import subprocess  # nosec B404  # argument lists only, never a shell
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

CHILD = Path(__file__).with_name("_child.py")
TAIL_BYTES = 2000
Network = Literal["namespace", "audit-hook"]


@dataclass(frozen=True)
class Limits:
    """What one program may use. The defaults fit HumanEval's tests (each well under a second and 100 MB)."""

    timeout_seconds: float = 10.0
    memory_bytes: int = 1 << 30
    file_bytes: int = 1 << 20
    processes: int = 1
    open_files: int = 64

    @property
    def cpu_seconds(self) -> int:
        return int(self.timeout_seconds) + 1


@dataclass(frozen=True)
class Outcome:
    passed: bool
    reason: str  # "passed", "timed out", "killed by SIGXCPU", or the program's last error line


@functools.cache
def network_isolation() -> Network:
    """Whether this kernel lets us run a child in its own empty network namespace."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return "audit-hook"
    try:
        done = subprocess.run([unshare, "-rn", "true"], capture_output=True, timeout=10, check=False)  # nosec B603  # a fixed argument list (our interpreter or sandbox), no shell, no user text
    except (OSError, subprocess.SubprocessError):
        return "audit-hook"
    return "namespace" if done.returncode == 0 else "audit-hook"


class Sandbox:
    """Runs programs one per process; thread-safe (each run has its own folder and process)."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.network = network_isolation()

    def config(self) -> dict[str, object]:
        return {**asdict(self.limits), "network": self.network, "python": sys.version.split()[0]}

    def run(self, program: str) -> Outcome:
        base = Path(tempfile.mkdtemp(prefix="datatrainer-sandbox-"))
        try:
            return self._run_in(base, program)
        finally:
            shutil.rmtree(base, ignore_errors=True)

    def _run_in(self, base: Path, program: str) -> Outcome:
        work = base / "work"
        work.mkdir()
        (base / "program.py").write_text(program, encoding="utf-8")
        limits = {"cpu_seconds": self.limits.cpu_seconds, "memory_bytes": self.limits.memory_bytes,
                  "file_bytes": self.limits.file_bytes, "processes": self.limits.processes,
                  "open_files": self.limits.open_files}
        command = [sys.executable, "-I", str(CHILD), str(base / "program.py"), str(work), json.dumps(limits)]
        if self.network == "namespace":
            command = ["unshare", "-rn", *command]
        env = {"PATH": "/usr/bin:/bin", "HOME": str(work), "TMPDIR": str(work), "LANG": "C.UTF-8"}
        with open(base / "stdout", "wb") as out, open(base / "stderr", "wb") as err:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=work,  # nosec B603  # a fixed argument list (our interpreter or sandbox), no shell, no user text
                                       env=env, start_new_session=True)
            try:
                code = process.wait(timeout=self.limits.timeout_seconds)
            except subprocess.TimeoutExpired:
                _kill_group(process)
                return Outcome(False, "timed out")
            finally:
                _kill_group(process)  # anything the program left behind in its session
        if code == 0:
            return Outcome(True, "passed")
        if code < 0:
            return Outcome(False, f"killed by {signal.Signals(-code).name}")
        return Outcome(False, _last_line(base / "stderr") or f"exit status {code}")


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _last_line(path: Path) -> str:
    with open(path, "rb") as handle:
        handle.seek(max(0, path.stat().st_size - TAIL_BYTES))
        lines = handle.read().decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else ""
