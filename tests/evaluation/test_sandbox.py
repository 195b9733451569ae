"""The HumanEval sandbox: correct code passes, attacks are contained and reported as failures, and the
harness (this process) and the machine are unharmed afterwards."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from datatrainer.evaluation.humaneval.problems import load_problems, program
from datatrainer.evaluation.humaneval.sandbox import Limits, Sandbox

SANDBOX = Sandbox(Limits(timeout_seconds=2.0, memory_bytes=512 << 20))


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A real TCP server on 127.0.0.1 recording anything a connection sends."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    received: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            with connection:
                received.append(connection.recv(100) or b"(connected)")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], received
    stop.set()
    thread.join()
    server.close()


def test_canonical_solutions_pass() -> None:
    for problem in load_problems(limit=3):
        outcome = SANDBOX.run(program(problem, problem.canonical_solution))
        assert outcome.passed, (problem.task_id, outcome.reason)


def test_wrong_solution_fails() -> None:
    problem = load_problems(limit=1)[0]
    outcome = SANDBOX.run(program(problem, "    return None\n"))
    assert not outcome.passed and "AssertionError" in outcome.reason


def test_infinite_loop_is_killed_at_the_wall_clock_timeout() -> None:
    start = time.monotonic()
    outcome = SANDBOX.run("while True:\n    pass\n")
    assert not outcome.passed and outcome.reason in ("timed out", "killed by SIGXCPU")
    assert time.monotonic() - start < 6


def test_fork_bomb_is_contained() -> None:
    before = _own_children()
    outcome = SANDBOX.run("import os\nwhile True:\n    os.fork()\n")
    assert not outcome.passed and "fork" in outcome.reason
    assert _own_children() == before


def test_ten_gigabyte_allocation_fails_without_touching_our_memory() -> None:
    outcome = SANDBOX.run("block = bytearray(10 * 1024 ** 3)\n")
    assert not outcome.passed and "MemoryError" in outcome.reason


def test_write_outside_the_temporary_folder_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "escaped.txt"
    outcome = SANDBOX.run(f"open({str(target)!r}, 'w').write('x')\n")
    assert not outcome.passed and "outside the working directory" in outcome.reason
    assert not target.exists()
    inside = SANDBOX.run("open('scratch.txt', 'w').write('x')\nassert open('scratch.txt').read() == 'x'\n")
    assert inside.passed, inside.reason


def test_socket_connect_to_localhost_is_refused(listener: tuple[int, list[bytes]]) -> None:
    port, received = listener
    attack = (f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=1)\n"
              "s.sendall(b'leak')\n")
    outcome = SANDBOX.run(attack)
    assert not outcome.passed and "socket" in outcome.reason
    # our own process can still reach the listener: the refusal was the sandbox's, not a dead server
    with socket.create_connection(("127.0.0.1", port), timeout=2) as connection:
        connection.sendall(b"ours")
    time.sleep(0.3)
    assert received == [b"ours"]


def test_harness_survives_all_attacks_in_a_row() -> None:
    attacks = ["import os\nos.system('true')\n", "import subprocess\n", "import ctypes\n",
               "import os\nos.kill(os.getppid(), 9)\n", "import resource\nresource.setrlimit(resource.RLIMIT_AS, "
               "(-1, -1))\n", "open('big', 'wb').write(b'x' * (8 << 20))\n"]
    for attack in attacks:
        assert not SANDBOX.run(attack).passed, attack
    problem = load_problems(limit=1)[0]
    assert SANDBOX.run(program(problem, problem.canonical_solution)).passed


def _own_children() -> int:
    return sum(1 for entry in os.listdir("/proc") if entry.isdigit() and _parent(entry) == os.getpid())


def _parent(pid: str) -> int:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1
