"""Per-text scores of expensive scorers (LLM passes), appended to a JSONL file as they are computed.

An LLM scorer on a few hundred texts takes minutes on a CPU; appending every finished batch means an
interrupted run resumes where it stopped, and a rerun of the benchmark with unchanged data and settings
computes nothing. Each batch also records its wall time, so the cost per text is known afterwards. Keys are
the scorer's name (which names its settings) and the text's SHA-256.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson

Scores = np.ndarray[Any, np.dtype[np.float64]]
BatchScorer = Callable[[list[str]], dict[str, Scores]]


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class ScoreCache:
    """`scores(names, texts, compute)` returns each named score for every text, computing only the missing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.values: dict[tuple[str, str], float] = {}
        self.timings: dict[str, tuple[float, int]] = {}  # scorer -> (seconds, texts) over every computed batch
        if path.is_file():
            for line in path.read_bytes().splitlines():
                if not line.strip():
                    continue
                record = orjson.loads(line)
                if "timing" in record:
                    seconds, count = self.timings.get(record["timing"], (0.0, 0))
                    self.timings[record["timing"]] = (seconds + record["seconds"], count + record["texts"])
                else:
                    self.values[(record["scorer"], record["text"])] = float(record["value"])

    def seconds_per_text(self, name: str) -> float | None:
        """Mean wall seconds per text of the batches that computed `name` (None if none were timed)."""
        seconds, count = self.timings.get(name, (0.0, 0))
        return seconds / count if count else None

    def has(self, name: str, texts: Sequence[str]) -> bool:
        return all((name, text_key(text)) in self.values for text in texts)

    def scores(self, names: Sequence[str], texts: Sequence[str], compute: BatchScorer, batch: int = 8,
               progress: Callable[[int], None] | None = None) -> dict[str, Scores]:
        """`compute(texts)` returns {name: values} for every name; it is called on batches of missing texts."""
        missing = list(dict.fromkeys(t for t in texts if any((n, text_key(t)) not in self.values for n in names)))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "ab") as handle:
            for start in range(0, len(missing), batch):
                chunk = missing[start:start + batch]
                began = time.perf_counter()
                computed = compute(chunk)
                seconds = time.perf_counter() - began
                handle.write(orjson.dumps({"timing": names[0], "seconds": seconds, "texts": len(chunk)}) + b"\n")
                spent, count = self.timings.get(names[0], (0.0, 0))
                self.timings[names[0]] = (spent + seconds, count + len(chunk))
                for name in names:
                    for text, value in zip(chunk, computed[name], strict=True):
                        key = text_key(text)
                        self.values[(name, key)] = float(value)
                        handle.write(orjson.dumps({"scorer": name, "text": key, "value": float(value)}) + b"\n")
                handle.flush()
                if progress is not None:
                    progress(len(chunk))
        return {name: np.array([self.values[(name, text_key(t))] for t in texts]) for name in names}
