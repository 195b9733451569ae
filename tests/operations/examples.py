"""The example records every operation is checked on."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_WORDS = ("the", "river", "carried", "small", "boats", "past", "the", "old", "mill", "while", "children",
          "watched", "from", "the", "bridge", "and", "their", "parents", "talked", "about", "the", "harvest",
          "the", "market", "and", "the", "long", "winter", "that", "was", "coming")


def example_records(rows: int = 60) -> pa.Table:
    """Prose of varied length (some too short for the quality rules), with exact and near duplicates."""
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(_WORDS, 8 + (i * 13) % 90)).capitalize() + ". " + "It rained. " * (i % 4)
             for i in range(rows)]
    for i in range(0, rows, 9):  # exact duplicates of an earlier text
        texts[i] = texts[max(i - 5, 0)]
    for i in range(4, rows, 11):  # near duplicates: one word changed
        texts[i] = texts[i - 2].replace(" the ", " a ", 1)
    return pa.table({"id": [f"r{i:04d}" for i in range(rows)], "text": texts, "n": list(range(rows))})
