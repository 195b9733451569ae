"""Texts cut into lines and words once, as flat arrays that every heuristic signal reduces per document.

The heuristic rules (Gopher, C4) look at words, lines and paragraphs. Instead of a Python loop per record,
a batch is split with two Arrow kernels (lines on "\\n", then words on Unicode whitespace, like `str.split()`)
and flattened in document order: words of a line, lines of a document and the words of a document are
contiguous ranges. Equal words share an integer id (one dictionary encoding per batch), so a per-word property
(length, has a letter, is a stop word, ends a sentence) is computed once per distinct word on the small
vocabulary and gathered back, and n-grams become integer arithmetic in NumPy. Sums per line or per document
are one `np.add.reduceat` over the ranges.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

StringArray: TypeAlias = pa.Array | pa.ChunkedArray
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Columns: TypeAlias = dict[str, npt.NDArray[Any]]  # signal name -> one value per document


def range_sums(values: npt.ArrayLike, bounds: IntArray) -> FloatArray:
    """Sums of `values` over the consecutive ranges [bounds[i], bounds[i + 1]) (empty ranges sum to 0)."""
    array = np.asarray(values)
    out = np.zeros(len(bounds) - 1, np.float64)
    nonempty = bounds[1:] > bounds[:-1]
    if nonempty.any():
        dtype = np.float64 if array.dtype.kind == "f" else np.int64  # booleans count, not "or"
        out[nonempty] = np.add.reduceat(array, bounds[:-1][nonempty], dtype=dtype)
    return out


def ratio(numerator: npt.ArrayLike, denominator: npt.ArrayLike) -> FloatArray:
    """numerator / denominator, 0 where the denominator is 0 (an empty text has no repetition, no bullets)."""
    num = np.asarray(numerator, np.float64)
    den = np.asarray(denominator, np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


@dataclass(frozen=True)
class TextSegments:
    """Lines and words of a batch of texts, flattened in document order.

    A line is the text between two "\\n", stripped of surrounding whitespace; a blank line has no words.
    A word is a maximal run of non-whitespace characters. A null text counts as empty.
    """

    texts: pa.Array
    lines: pa.Array  # every line, stripped; blank lines included
    doc_line_start: IntArray  # document d has lines [doc_line_start[d], doc_line_start[d + 1])
    line_word_start: IntArray  # line i has words [line_word_start[i], line_word_start[i + 1])
    word_ids: IntArray  # equal words have equal ids: indices into `vocabulary`
    vocabulary: pa.Array  # the distinct words of the batch

    @property
    def num_docs(self) -> int:
        return len(self.texts)

    @cached_property
    def doc_word_start(self) -> IntArray:
        return self.line_word_start[self.doc_line_start]

    @cached_property
    def line_doc(self) -> IntArray:
        return np.repeat(np.arange(self.num_docs), np.diff(self.doc_line_start))

    @cached_property
    def word_doc(self) -> IntArray:
        return np.repeat(np.arange(self.num_docs), np.diff(self.doc_word_start))

    @cached_property
    def line_words(self) -> IntArray:
        """Number of words on each line (0 for a blank line)."""
        return np.diff(self.line_word_start)

    @cached_property
    def nonblank(self) -> BoolArray:
        return self.line_words > 0

    @cached_property
    def word_chars(self) -> IntArray:
        return self.word_property(pc.utf8_length(self.vocabulary))

    @cached_property
    def doc_chars(self) -> FloatArray:
        """Characters in words per document: whitespace is layout, so no character fraction counts it."""
        return self.doc_word_sums(self.word_chars)

    @cached_property
    def doc_lines(self) -> FloatArray:
        """Non-blank lines per document."""
        return self.doc_line_sums(self.nonblank)

    def doc_word_sums(self, per_word: npt.ArrayLike) -> FloatArray:
        return range_sums(per_word, self.doc_word_start)

    def doc_line_sums(self, per_line: npt.ArrayLike) -> FloatArray:
        return range_sums(per_line, self.doc_line_start)

    def line_sums(self, per_word: npt.ArrayLike) -> FloatArray:
        return range_sums(per_word, self.line_word_start)

    def word_property(self, per_distinct_word: pa.Array | npt.ArrayLike) -> npt.NDArray[Any]:
        """Broadcast a value computed once per distinct word (in `vocabulary` order) to every occurrence."""
        if isinstance(per_distinct_word, pa.Array):
            per_distinct_word = per_distinct_word.to_numpy(zero_copy_only=False)
        return np.asarray(per_distinct_word)[self.word_ids]

    @cached_property
    def _marked(self) -> tuple[IntArray, pa.Array]:
        marked = np.flatnonzero(~pc.utf8_is_alpha(self.vocabulary).to_numpy(zero_copy_only=False))
        return marked, self.vocabulary.take(pa.array(marked))

    def vocabulary_values(self, letters_only: pa.Array | npt.ArrayLike,
                          compute: Callable[[pa.Array], pa.Array]) -> npt.NDArray[Any]:
        """A value per distinct word: `letters_only` for words made of letters only, `compute(words)` for others.

        Most distinct words are plain letters; only the others (punctuation, digits, symbols: a fifth of a
        vocabulary) go through the regular expressions.
        """
        marked, words = self._marked
        if isinstance(letters_only, pa.Array):
            letters_only = letters_only.to_numpy(zero_copy_only=False)
        values = np.array(np.broadcast_to(letters_only, (len(self.vocabulary),)))
        if len(marked):
            values[marked] = compute(words).to_numpy(zero_copy_only=False)
        return values

    def line_edge_words(self, per_distinct_word: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
        """A per-distinct-word value for the first and for the last word of every line (blank lines: 0)."""
        firsts = np.zeros(len(self.nonblank), per_distinct_word.dtype)
        lasts = np.zeros(len(self.nonblank), per_distinct_word.dtype)
        firsts[self.nonblank] = per_distinct_word[self.word_ids[self.line_word_start[:-1][self.nonblank]]]
        lasts[self.nonblank] = per_distinct_word[self.word_ids[self.line_word_start[1:][self.nonblank] - 1]]
        return firsts, lasts


def segment(texts: StringArray) -> TextSegments:
    """Split texts into lines and words (see `TextSegments`)."""
    flat = texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts
    flat = pc.fill_null(flat, "")
    line_lists = pc.split_pattern(flat, "\n")
    lines = pc.utf8_trim_whitespace(pc.list_flatten(line_lists))
    word_lists = pc.utf8_split_whitespace(lines)
    words = pc.list_flatten(word_lists)
    counts = pc.list_value_length(word_lists).to_numpy().astype(np.int64)
    blank = pc.equal(pc.utf8_length(lines), 0).to_numpy(zero_copy_only=False)
    if blank.any():  # a blank line splits into one empty string, which is no word
        words = words.filter(pa.array(np.repeat(~blank, counts)))
        counts[blank] = 0
    line_word_start = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(counts, out=line_word_start[1:])
    encoded = pc.dictionary_encode(words)
    offsets = line_lists.offsets.to_numpy().astype(np.int64)
    return TextSegments(
        texts=flat,
        lines=lines,
        doc_line_start=offsets - offsets[0],
        line_word_start=line_word_start,
        word_ids=encoded.indices.to_numpy().astype(np.int64),
        vocabulary=encoded.dictionary,
    )
