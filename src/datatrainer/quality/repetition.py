"""Gopher repetition signals (Rae et al. 2021, "Scaling Language Models", MassiveText, Table A1), vectorised.

Repetitive documents (the same line, paragraph or phrase over and over: boilerplate, spam, generation loops)
are removed by MassiveText when any of these exceeds its threshold:

    duplicate line fraction 0.30          duplicate line character fraction 0.20
    duplicate paragraph fraction 0.30     duplicate paragraph character fraction 0.20
    top 2-, 3-, 4-gram character fraction 0.20, 0.18, 0.16
    duplicate 5- .. 10-gram character fraction 0.15, 0.14, 0.13, 0.12, 0.11, 0.10

Definitions follow DataTrove's `GopherRepetitionFilter` and RedPajama-V2's repetition signals:

- Lines are split on "\\n" and stripped; paragraphs are runs of non-blank lines separated by blank ones.
  Lines and paragraphs compare by their words, and blank lines are layout, not content: they count nowhere.
  A *duplicate* line (paragraph) is one equal to an earlier line (paragraph) of the same document; the
  fractions are duplicates / non-blank lines (paragraphs), and their characters / the document's characters.
- Words are whitespace-separated tokens, punctuation included ("end." and "-" are words here).
  n-grams are runs of n consecutive words over the whole document. The *top* n-gram is the most frequent
  n-gram occurring at least twice (ties: the one with more characters); its fraction is occurrences x its
  characters / the document's characters, capped at 1 (overlapping occurrences can count a word twice).
  A word is in a *duplicate* n-gram when some n-gram covering it already occurred earlier in the document;
  the fraction is the characters of such words / the document's characters.
- Characters are the characters of words (whitespace excluded) everywhere, so indentation and blank lines
  change no fraction.

How it is fast: equal words have equal ids (see `segments`), an n-gram's hash is a polynomial over word hashes,
and duplicates within a document are runs of equal (document, hash) keys after one stable sort. An n-gram can
only occur twice if both its (n-1)-gram prefix and suffix do, so each n only re-hashes and sorts the positions
whose two (n-1)-grams repeat: beyond n = 3 that is a small share of natural text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from datatrainer.quality.segments import BoolArray, Columns, FloatArray, IntArray, TextSegments, ratio

U64 = npt.NDArray[np.uint64]

TOP_NGRAMS = (2, 3, 4)
DUP_NGRAMS = (5, 6, 7, 8, 9, 10)
COLUMNS = (
    "dup_line_frac", "dup_line_char_frac", "dup_para_frac", "dup_para_char_frac",
    *(f"top_{n}gram_char_frac" for n in TOP_NGRAMS),
    *(f"dup_{n}gram_char_frac" for n in DUP_NGRAMS),
)

_PRIME = np.uint64(0x9E3779B97F4A7C15)  # odd multiplier of the polynomial hash
# A sort key is the document (high 24 bits) and the top 40 bits of a hash: a false match of two different
# n-grams in a 100,000-word document has a probability of about 1e-2, and changes one n-gram.
_DOC_BITS = 24
MAX_DOCS = 1 << _DOC_BITS


def _mix(values: U64) -> U64:
    """SplitMix64's finaliser: spreads every input bit over the output bits (wrapping uint64 arithmetic)."""
    mixed = values ^ (values >> np.uint64(30))
    mixed *= np.uint64(0xBF58476D1CE4E5B9)
    mixed ^= mixed >> np.uint64(27)
    mixed *= np.uint64(0x94D049BB133111EB)
    mixed ^= mixed >> np.uint64(31)
    return mixed


def _powers(count: int) -> U64:
    """_PRIME ** i (mod 2**64) for i < count."""
    powers = np.full(max(count, 1), _PRIME, np.uint64)
    powers[0] = 1
    return np.cumprod(powers, dtype=np.uint64)


def _polynomial(hashes: U64, starts: IntArray) -> U64:
    """Order-sensitive hash of each range [starts[i], starts[i + 1]) of `hashes` (the last one to the end)."""
    if not len(starts):
        return np.zeros(0, np.uint64)
    position = np.arange(len(hashes)) - np.repeat(starts, np.diff(np.append(starts, len(hashes))))
    return np.add.reduceat(hashes * _powers(int(position.max()) + 1)[position], starts)


@dataclass(frozen=True)
class _Runs:
    """Items (in document order) sorted by (document, hash): equal items of a document form a run.

    The sort is stable, so each run lists its items' positions earliest first.
    """

    order: IntArray  # sorted position -> item
    first: BoolArray  # by sorted position: the item starts its run

    @classmethod
    def of(cls, docs: IntArray, hashes: U64) -> _Runs:
        keys = (docs.astype(np.uint64) << np.uint64(64 - _DOC_BITS)) | (hashes >> np.uint64(_DOC_BITS))
        order = np.argsort(keys, kind="stable")
        ordered = keys[order]
        first = np.ones(len(keys), np.bool_)
        first[1:] = ordered[1:] != ordered[:-1]
        return cls(order, first)

    def repeats(self) -> IntArray:
        """Items equal to an earlier item of their document."""
        return self.order[~self.first]

    def shared(self) -> IntArray:
        """Items that occur at least twice in their document."""
        last = np.ones(len(self.first), np.bool_)
        last[:-1] = self.first[1:]
        return self.order[~(self.first & last)]

    def frequent(self) -> tuple[IntArray, IntArray]:
        """Runs of at least two items: the first item of each, and the run's length."""
        starts = np.flatnonzero(self.first)
        lengths = np.diff(np.append(starts, len(self.first)))
        frequent = lengths >= 2
        return self.order[starts[frequent]], lengths[frequent]


def _max_per_doc(docs: IntArray, values: IntArray, num_docs: int) -> IntArray:
    """The largest value per document (0 where a document has none); `docs` must be sorted."""
    out = np.zeros(num_docs, np.int64)
    if len(docs):
        starts = np.flatnonzero(np.concatenate(([True], docs[1:] != docs[:-1])))
        out[docs[starts]] = np.maximum.reduceat(values, starts)
    return out


def _duplicates(seg: TextSegments, docs: IntArray, hashes: U64, chars: FloatArray,
                name: str) -> Columns:
    """Duplicate units (lines, paragraphs): their share of the units and of the characters of each document."""
    repeats = _Runs.of(docs, hashes).repeats()
    units = np.bincount(docs, minlength=seg.num_docs)
    return {
        f"dup_{name}_frac": ratio(np.bincount(docs[repeats], minlength=seg.num_docs), units),
        f"dup_{name}_char_frac": ratio(np.bincount(docs[repeats], chars[repeats], minlength=seg.num_docs),
                                       seg.doc_chars),
    }


def _line_and_paragraph_signals(seg: TextSegments, word_hashes: U64) -> Columns:
    nonblank = seg.nonblank
    line_hashes = _polynomial(word_hashes, seg.line_word_start[:-1][nonblank])
    line_docs = seg.line_doc[nonblank]
    line_chars = seg.line_sums(seg.word_chars)[nonblank]
    # A paragraph starts at a non-blank line that opens its document or follows a blank line.
    opens = np.zeros(len(nonblank), np.bool_)
    opens[seg.doc_line_start[:-1][np.diff(seg.doc_line_start) > 0]] = True
    opens[1:] |= ~nonblank[:-1]
    para_starts = np.flatnonzero(opens[nonblank])
    para_chars = np.add.reduceat(line_chars, para_starts) if len(para_starts) else np.zeros(0)
    return {
        **_duplicates(seg, line_docs, line_hashes, line_chars, "line"),
        **_duplicates(seg, line_docs[para_starts], _polynomial(_mix(line_hashes), para_starts), para_chars, "para"),
    }


def _ngram_signals(seg: TextSegments, word_hashes: U64) -> Columns:
    word_doc = seg.word_doc
    cumulative_chars = np.zeros(len(word_doc) + 1, np.int64)
    np.cumsum(seg.word_chars, out=cumulative_chars[1:])
    out: Columns = {}
    candidates = np.flatnonzero(word_doc[:-1] == word_doc[1:])  # starts of every 2-gram
    hashes = word_hashes[candidates]  # the hash of the (n-1)-gram, then n-gram, at each candidate
    for n in range(2, max(DUP_NGRAMS) + 1):
        hashes = hashes * _PRIME + word_hashes[candidates + n - 1]
        runs = _Runs.of(word_doc[candidates], hashes)
        if n in TOP_NGRAMS:
            firsts, counts = runs.frequent()
            starts = candidates[firsts]
            chars = cumulative_chars[starts + n] - cumulative_chars[starts]
            best = _max_per_doc(word_doc[starts], (counts << 32) | chars, seg.num_docs)
            top_chars = (best >> 32) * (best & 0xFFFFFFFF)
            out[f"top_{n}gram_char_frac"] = np.minimum(ratio(top_chars, seg.doc_chars), 1.0)
        else:
            out[f"dup_{n}gram_char_frac"] = ratio(_covered_chars(seg, candidates[runs.repeats()], n),
                                                  seg.doc_chars)
        # (n+1)-gram candidates: both n-grams inside it occur at least twice.
        shared = np.zeros(len(word_doc) + 1, np.bool_)
        shared[candidates[runs.shared()]] = True
        keep = shared[candidates] & shared[candidates + 1]
        candidates, hashes = candidates[keep], hashes[keep]
    return out


def _covered_chars(seg: TextSegments, starts: IntArray, n: int) -> FloatArray:
    """Characters per document of the words covered by the n-grams starting at `starts`."""
    if not len(starts):
        return np.zeros(seg.num_docs)
    total = len(seg.word_ids)
    depth = np.cumsum(np.bincount(starts, minlength=total + 1) - np.bincount(starts + n, minlength=total + 1))
    return seg.doc_word_sums(np.where(depth[:total] > 0, seg.word_chars, 0))


def repetition_signals_of(seg: TextSegments) -> Columns:
    """The Gopher repetition signals of segmented texts, one array per column of `COLUMNS`."""
    if seg.num_docs >= MAX_DOCS:
        raise ValueError(f"at most {MAX_DOCS - 1} texts per call")
    word_hashes = _mix(seg.word_ids.astype(np.uint64) + np.uint64(1))
    return {**_line_and_paragraph_signals(seg, word_hashes), **_ngram_signals(seg, word_hashes)}

