"""An append-only array that lives in memory while small and moves to a temporary file when large.

Dedup must see every record before deciding anything, so it keeps per-record sketches (shingle hashes,
band hashes) for the whole version. For a small version keeping them in memory is fastest; for a large one
(hundreds of bytes per record times millions of records) they go to a file in the workspace's `tmp/` and
are read back through a memory map, so the process's own memory stays bounded and the page cache does the
rest.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from types import TracebackType
from typing import IO

import numpy as np

DEFAULT_MEMORY_BUDGET = 128 * 1024 * 1024


class Spool:
    """Rows of a fixed `width` and `dtype`, appended in order; `array()` returns them all as (rows, width)."""

    def __init__(self, dtype: type[np.generic], width: int = 1, folder: Path | None = None,
                 memory_budget: int | None = None) -> None:
        self.dtype = np.dtype(dtype)
        self.width = width
        self._folder = folder
        self._budget = DEFAULT_MEMORY_BUDGET if memory_budget is None else memory_budget
        self._parts: list[np.ndarray] = []
        self._bytes = 0
        self._rows = 0
        self._file: IO[bytes] | None = None

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def append(self, values: np.ndarray) -> None:
        values = np.ascontiguousarray(values, dtype=self.dtype).reshape(-1, self.width)
        self._rows += len(values)
        if self._file is not None:
            self._file.write(values.tobytes())
            return
        self._parts.append(values)
        self._bytes += values.nbytes
        if self._bytes > self._budget and self._folder is not None:
            self._file = tempfile.NamedTemporaryFile(dir=self._folder, prefix="spool-", suffix=".bin")  # noqa: SIM115
            for part in self._parts:
                self._file.write(part.tobytes())
            self._parts = []

    def __len__(self) -> int:
        return self._rows

    def array(self) -> np.ndarray:
        """Everything appended, as one read-only (rows, width) array (a memory map once spilled)."""
        if self._file is None:
            if len(self._parts) == 1:
                return self._parts[0]
            return np.concatenate(self._parts) if self._parts else np.zeros((0, self.width), self.dtype)
        self._file.flush()
        if self._rows == 0:
            return np.zeros((0, self.width), self.dtype)
        return np.memmap(self._file.name, dtype=self.dtype, mode="r", shape=(self._rows, self.width))

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._parts = []
