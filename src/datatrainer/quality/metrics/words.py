"""Words per text, counted on the UTF-8 bytes with NumPy.

A word is a maximal run of characters other than ASCII whitespace (space, tab, line feed, vertical tab,
form feed, carriage return), as Python's `bytes.split()` counts them; this agrees with
`datatrainer.quality.textnorm.word_counts` except where Unicode-only whitespace (e.g. a no-break space)
stands alone at a text's ends. It is about five times faster, because it builds no list of words: a word
starts at a non-space byte that begins its text or follows a space byte, and these bytes never occur
inside a multi-byte UTF-8 character. Texts are taken `CHUNK_BYTES` at a time, so the temporary arrays stay
small whatever the batch size (the word counts are only a distribution in the report, not a filter).
"""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa

CHUNK_BYTES = 8 << 20
_SPACE = np.zeros(256, dtype=bool)
_SPACE[list(b" \t\n\v\f\r")] = True


def _count(data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Words per text of one chunk: `offsets` (relative to `data`) has one more entry than texts."""
    space = _SPACE[data]
    starts = np.logical_not(space)
    starts[1:] &= space[:-1]
    begins = offsets[:-1][offsets[1:] > offsets[:-1]]
    starts[begins] = ~space[begins]  # a text's first byte starts a word whatever the previous text ended with
    return np.diff(np.searchsorted(np.flatnonzero(starts), offsets))


def word_counts(texts: pa.Array) -> np.ndarray:
    """int64 word count per text; a null text has 0 words."""
    n = len(texts)
    offset_type = np.int64 if pa.types.is_large_string(texts.type) else np.int32
    _, offsets_buffer, data_buffer = texts.buffers()
    counts = np.zeros(n, dtype=np.int64)
    if n == 0 or data_buffer is None:
        return counts
    offsets = np.frombuffer(offsets_buffer, dtype=offset_type)[texts.offset: texts.offset + n + 1].astype(np.int64)
    data = np.frombuffer(data_buffer, dtype=np.uint8)
    # Chunk boundaries at text boundaries, about CHUNK_BYTES apart.
    targets = np.arange(offsets[0], offsets[-1], CHUNK_BYTES)
    bounds = np.unique(np.concatenate([[0, n], np.searchsorted(offsets, targets).clip(0, n)]))
    for first, last in itertools.pairwise(bounds):
        low, high = offsets[first], offsets[last]
        counts[first:last] = _count(data[low:high], offsets[first: last + 1] - low)
    return counts
