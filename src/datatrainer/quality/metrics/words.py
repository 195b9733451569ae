"""Words per text, counted on the UTF-8 bytes with NumPy.

Same definition as `datatrainer.quality.textnorm.word_counts` (maximal runs of characters other than
RE2's `\\s`: space, tab, line feed, form feed, carriage return), about five times faster, because it
builds no list of words: a word starts at a non-space byte that begins its text or follows a space byte.
These whitespace bytes never occur inside a multi-byte UTF-8 character, so bytes can be used directly.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_SPACE = np.zeros(256, dtype=bool)
_SPACE[[ord(c) for c in " \t\n\f\r"]] = True


def word_counts(texts: pa.Array) -> np.ndarray:
    """int64 word count per text; a null text has 0 words."""
    n = len(texts)
    offset_type = np.int64 if pa.types.is_large_string(texts.type) else np.int32
    _, offsets_buffer, data_buffer = texts.buffers()
    if n == 0 or data_buffer is None:
        return np.zeros(n, dtype=np.int64)
    offsets = np.frombuffer(offsets_buffer, dtype=offset_type)[texts.offset: texts.offset + n + 1].astype(np.int64)
    data = np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0]: offsets[-1]]
    space = _SPACE[data]
    starts = ~space
    starts[1:] &= space[:-1]
    first = offsets[:-1] - offsets[0]
    nonempty = offsets[1:] > offsets[:-1]
    begins = first[nonempty]
    starts[begins] = ~space[begins]  # a text's first byte starts a word whatever the previous text ended with
    counts = np.zeros(n, dtype=np.int64)
    if len(begins):
        counts[nonempty] = np.add.reduceat(starts, begins, dtype=np.int64)
    return counts
