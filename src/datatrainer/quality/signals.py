"""Per-record heuristic signals of texts, as Arrow tables aligned with the input: the public entry points.

- `quality_signals`: the Gopher quality signals (`gopher`) and the C4 signals (`c4`).
- `repetition_signals`: the Gopher repetition signals (`repetition`).
- `heuristic_signals`: both, splitting the texts only once; use it when you need both.

Every signal is computed over whole Arrow/NumPy arrays (see `segments`), never with a Python loop per
record. Texts are processed `CHUNK` records at a time so that the flat per-word arrays stay small whatever
the size of the input.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa

from datatrainer.quality import c4, gopher, repetition
from datatrainer.quality.segments import Columns, StringArray, TextSegments, segment

QUALITY_COLUMNS = gopher.COLUMNS + c4.COLUMNS
REPETITION_COLUMNS = repetition.COLUMNS
CHUNK = 16_384
_COUNTS = {"word_count", "stop_word_count", "c4_sentence_count"}
_FLAGS = {"has_lorem_ipsum", "has_curly_brace"}

Signals = Callable[[TextSegments], Columns]


def _quality(seg: TextSegments) -> Columns:
    return {**gopher.gopher_quality_signals_of(seg), **c4.c4_signals_of(seg)}


def _table(texts: StringArray, compute: Signals, columns: tuple[str, ...]) -> pa.Table:
    parts: list[Columns] = [
        compute(segment(texts.slice(start, CHUNK))) for start in range(0, len(texts), CHUNK)
    ]
    arrays = {}
    for name in columns:
        values = np.concatenate([part[name] for part in parts]) if parts else np.zeros(0)
        dtype = np.int64 if name in _COUNTS else np.bool_ if name in _FLAGS else np.float64
        arrays[name] = pa.array(values.astype(dtype))
    return pa.table(arrays)


def quality_signals(texts: StringArray) -> pa.Table:
    """Gopher quality and C4 signals, one row per text (columns: `QUALITY_COLUMNS`)."""
    return _table(texts, _quality, QUALITY_COLUMNS)


def repetition_signals(texts: StringArray) -> pa.Table:
    """Gopher repetition signals, one row per text (columns: `REPETITION_COLUMNS`)."""
    return _table(texts, repetition.repetition_signals_of, REPETITION_COLUMNS)


def heuristic_signals(texts: StringArray) -> pa.Table:
    """All quality and repetition signals, one row per text, splitting each text once."""
    return _table(texts, lambda seg: {**_quality(seg), **repetition.repetition_signals_of(seg)},
                  QUALITY_COLUMNS + REPETITION_COLUMNS)
