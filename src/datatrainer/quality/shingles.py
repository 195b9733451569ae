"""Word n-gram shingles of normalised text, hashed to uint64 over whole batches in C (no Python row loop).

The words are exactly those of `words(normalize_text(text))` (see `textnorm`). One C pass per batch
(`_kernels.shingle_hashes`, ~1 us a 150-word text) maps each text's bytes through `textnorm.ASCII_TABLE`
(what normalisation does to ASCII), finds the words between spaces, hashes each (a word of up to 8 bytes is
its own hash, its bytes read as a little-endian uint64; longer words fold further 8-byte chunks in with an
odd multiplier) and combines consecutive word hashes into n-gram hashes (distinct odd multipliers per word
position, then the splitmix64 finaliser). Rows with bytes that map cannot handle (non-ASCII, a few control
bytes) are flagged; when a batch has any, the batch goes again through `normalize_text` (C for the ASCII
rows, Arrow's Unicode path for the others) and the kernel splits that on spaces.

A row of w >= n words has the w - n + 1 shingles starting at each of its words, a row shorter than n words
one shingle made of all its words, an empty row none; a shingle may repeat within a row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datatrainer.quality.kernels import kernels
from datatrainer.quality.textnorm import ASCII_TABLE, WORDS_TABLE, normalize_text, string_buffers

NO_SHINGLE = np.uint64(0xFFFFFFFFFFFFFFFF)


@dataclass(frozen=True)
class Shingles:
    """Shingle hashes of a batch: row i owns slots `hashes[offsets[i]:offsets[i + 1]]`. Slots holding the
    `NO_SHINGLE` placeholder are ignored by everything downstream (signatures, Jaccard)."""

    hashes: np.ndarray  # uint64
    offsets: np.ndarray  # int64, length rows + 1

    @property
    def slots(self) -> np.ndarray:
        """Slots per row."""
        return np.diff(self.offsets)


def shingle_hashes(texts: pa.Array | pa.ChunkedArray, ngram: int = 3, seed: int = 1,
                   normalize: bool = True) -> Shingles:
    """Hashed word `ngram`-shingles of every row's text, normalised unless `normalize` is false (then the
    words are the whitespace-separated pieces of the raw text). Null rows have no shingles."""
    if ngram < 1:
        raise ValueError(f"ngram must be at least 1, got {ngram}")
    if isinstance(texts, pa.ChunkedArray):
        texts = pa.concat_arrays(texts.chunks) if texts.num_chunks else pa.array([], pa.string())
    texts = texts.cast(pa.string()).fill_null("")
    if not normalize:
        return _hash_words(pc.utf8_trim_whitespace(texts), WORDS_TABLE, ngram, seed)[0]
    shingles, general = _hash_words(texts, ASCII_TABLE, ngram, seed)
    if general:
        shingles = _hash_words(normalize_text(texts), WORDS_TABLE, ngram, seed)[0]
    return shingles


def _hash_words(texts: pa.Array, table: bytes, ngram: int, seed: int) -> tuple[Shingles, bool]:
    """Shingles of the words of each text mapped through `table`, and whether a row needs the general path
    (a byte mapped to 0xFF; such rows get no shingles here)."""
    data, offsets = string_buffers(texts)
    hashes = np.empty((len(data) + len(texts)) // 2 + 1, dtype=np.uint64)  # room for every word
    row_offsets = np.empty(len(texts) + 1, dtype=np.int64)
    general = np.empty(len(texts), dtype=np.uint8)
    used = kernels.shingle_hashes(data, offsets, table, table is ASCII_TABLE, ngram, seed, hashes, row_offsets,
                                  general)
    return Shingles(hashes[:used].copy(), row_offsets), bool(general.any())
