"""Gopher quality signals (Rae et al. 2021, "Scaling Language Models", MassiveText quality filters), vectorised.

MassiveText keeps a document only if it has 50 to 100,000 words, a mean word length of 3 to 10 characters,
a symbol-to-word ratio of at most 0.1 for the hash symbol and for the ellipsis, at most 90% of lines starting
with a bullet point, at most 30% of lines ending with an ellipsis, at least 80% of words containing an
alphabetic character, and at least two of the stop words "the, be, to, of, and, that, have, with".

Definitions (DataTrove's `GopherQualityFilter` is the style reference, with whitespace words instead of an
English tokenizer, so that every language and every record gets the same treatment):

- A word is a whitespace-separated token with at least one character that is not punctuation or a symbol
  (Unicode categories P*, S*); "-" or "..." alone is no word, as NLTK's tokenizer would split it off.
- Word length counts the characters that are not punctuation or symbols ("end." has 3).
- Symbols: "#" and ellipses ("..." or "…") are counted in the whole text; the ratio is the larger of the two
  counts per word, since the rule fails a document when either exceeds 0.1.
- A word contains an alphabetic character when one of its characters is a Unicode letter (`str.isalpha`).
- A stop word matches after lower-casing and stripping leading and trailing punctuation ("The", "of,").
- Lines are the non-blank lines; a bullet line starts with one of `BULLETS`, an ellipsis line ends in one.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datatrainer.quality.segments import Columns, TextSegments, ratio

STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")
# • ● ○ ◦ ▪ ▫ ■ □ ‣ (hyphen bullet) ∙ ► ▶ ➢ ✓ ✔ * -
BULLETS = "\u2022\u25cf\u25cb\u25e6\u25aa\u25ab\u25a0\u25a1\u2023\u2043\u2219\u25ba\u25b6\u27a2\u2713\u2714*-"
_BULLET_CLASS = BULLETS.replace("-", r"\-")
_PUNCTUATION = r"[\p{P}\p{S}]"
COLUMNS = (
    "word_count", "mean_word_length", "symbol_word_ratio", "alpha_word_frac", "stop_word_count",
    "bullet_line_frac", "ellipsis_line_frac",
)


def _count(words: pa.Array, *substrings: str) -> pa.Array:
    """Non-overlapping occurrences of the substrings in each word."""
    counts = pc.count_substring(words, substrings[0])
    for substring in substrings[1:]:
        counts = pc.add(counts, pc.count_substring(words, substring))
    return counts


def _is_stop_word(words: pa.Array) -> pa.Array:
    return pc.is_in(pc.utf8_lower(words), value_set=pa.array(STOP_WORDS))


def gopher_quality_signals_of(seg: TextSegments) -> Columns:
    """The Gopher quality signals of segmented texts, one array per column of `COLUMNS`."""
    vocab = seg.vocabulary
    letters = seg.vocabulary_values(
        pc.utf8_length(vocab), lambda w: pc.utf8_length(pc.replace_substring_regex(w, _PUNCTUATION, "")))
    is_stop = seg.vocabulary_values(
        _is_stop_word(vocab),
        lambda w: _is_stop_word(pc.replace_substring_regex(w, rf"^{_PUNCTUATION}+|{_PUNCTUATION}+$", "")))
    has_alpha = seg.vocabulary_values(True, lambda w: pc.match_substring_regex(w, r"\pL"))
    hashes = seg.vocabulary_values(0, lambda w: _count(w, "#"))
    ellipses = seg.vocabulary_values(0, lambda w: _count(w, "...", "…"))
    bullet = seg.vocabulary_values(False, lambda w: pc.match_substring_regex(w, f"^[{_BULLET_CLASS}]"))
    ellipsis_end = seg.vocabulary_values(False, lambda w: pc.match_substring_regex(w, r"(?:\.\.\.|…)$"))

    lengths = seg.word_property(letters)
    words = seg.doc_word_sums(lengths > 0)
    first_is_bullet, _ = seg.line_edge_words(bullet)
    _, last_is_ellipsis = seg.line_edge_words(ellipsis_end)
    symbols = np.maximum(seg.doc_word_sums(seg.word_property(hashes)), seg.doc_word_sums(seg.word_property(ellipses)))
    return {
        "word_count": words,
        "mean_word_length": ratio(seg.doc_word_sums(lengths), words),
        "symbol_word_ratio": ratio(symbols, words),
        "alpha_word_frac": ratio(seg.doc_word_sums(seg.word_property(has_alpha)), words),
        "stop_word_count": seg.doc_word_sums(seg.word_property(is_stop)),
        "bullet_line_frac": ratio(seg.doc_line_sums(first_is_bullet), seg.doc_lines),
        "ellipsis_line_frac": ratio(seg.doc_line_sums(last_is_ellipsis), seg.doc_lines),
    }
