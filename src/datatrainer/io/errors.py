"""How bad records are handled: fail on the first (default) or skip them and count."""

from __future__ import annotations

import threading
from typing import Literal

from datatrainer.errors import InputError

OnError = Literal["fail", "skip"]


class ErrorSink:
    """Receives one problem per bad record. In `fail` mode the first problem stops the run.

    Thread-safe: chunks are validated in worker threads.
    """

    def __init__(self, mode: OnError, keep_examples: int = 20) -> None:
        self.mode = mode
        self.count = 0
        self.examples: list[str] = []
        self._keep = keep_examples
        self._lock = threading.Lock()

    def __call__(self, location: str, message: str) -> None:
        if self.mode == "fail":
            raise InputError(location, message + " (use --on-error skip to skip bad records)")
        with self._lock:
            self.count += 1
            if len(self.examples) < self._keep:
                self.examples.append(f"{location}: {message}")


class ProblemLog(ErrorSink):
    """A chunk's problems, held rather than acted on: the pipeline passes them to the real sink in input
    order (so `fail` stops at the first bad chunk in the file, not the first one a worker finished), or
    drops them when it loads the chunk again."""

    def __init__(self) -> None:
        super().__init__("skip")
        self.problems: list[tuple[str, str]] = []

    def __call__(self, location: str, message: str) -> None:
        self.problems.append((location, message))

    def replay(self, sink: ErrorSink) -> None:
        for location, message in self.problems:
            sink(location, message)
