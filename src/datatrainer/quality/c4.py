"""C4 signals (Raffel et al. 2020, "Exploring the Limits of Transfer Learning", Section 2.2), vectorised.

C4 cleans Common Crawl line by line: it keeps only lines that end in a terminal punctuation mark (a period,
exclamation mark, question mark or end quotation mark) and have at least 5 words, drops lines mentioning
"javascript" and cookie / terms-of-use boilerplate, then discards a page with fewer than 3 sentences, any page
containing "lorem ipsum", and any page containing a curly bracket "{" (code). Constants and the order of the
line checks follow the reference implementation, TFDS `c4_utils.clean_page` (5 words per line, 3 sentences
per page, as the paper says; DataTrove's `C4QualityFilter` defaults swap the two numbers).

datatrainer filters whole records and does not rewrite text, so the line rules become document signals:
what share of lines C4 would keep, and how many sentences those lines hold; a record fails C4 exactly when
C4 would discard the page (lorem ipsum, a curly bracket, fewer than 3 sentences in the kept lines). The
bad-words list is not applied: no maintained list ships in a package. Differences from TFDS, for speed:
sentences in a kept line are its words ending in ".", "!" or "?" (plus closing quotes or brackets), at least
one per line, instead of NLTK's Punkt; citation markers ("[1]", "[edit]") are ignored only at a line's end.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datatrainer.quality.segments import BoolArray, Columns, TextSegments, ratio

MIN_WORDS_PER_LINE = 5
MAX_WORD_LENGTH = 1000
POLICY_PHRASES = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")
_CITATIONS = r"(?:\[[0-9]*\]|\[edit\])*"
_TERMINAL = f"[.?!\"\u201d]{_CITATIONS}$"  # the end quotation mark may be typographic
_ELLIPSIS_END = rf"\.\.\.{_CITATIONS}$"
_WHITESPACE = r"[\s\x0b\x1c-\x1f\x85\p{Z}]+"  # as str.split() sees it
_SENTENCE_END = "[.!?][\"'\u201d\u2019)\\]]*$"  # then closing quotes or brackets
COLUMNS = (
    "terminal_punct_line_frac", "c4_kept_line_frac", "c4_sentence_count", "boilerplate_line_frac",
    "has_lorem_ipsum", "has_curly_brace",
)


def _matches(texts: pa.Array, pattern: str) -> BoolArray:
    matched: BoolArray = pc.match_substring_regex(texts, pattern).to_numpy(zero_copy_only=False)
    return matched


def _policy_lines(seg: TextSegments) -> BoolArray:
    """Lines containing a cookie / terms-of-use phrase.

    Every phrase contains "cookie", "terms" or "privacy", so only lines with such a word are searched, with
    any run of whitespace read as one space.
    """
    keyword = _matches(seg.vocabulary, "(?i)cookie|terms|privacy")
    lines = np.flatnonzero(seg.line_sums(seg.word_property(keyword)) > 0)
    out = np.zeros(len(seg.line_doc), np.bool_)
    if len(lines):
        pattern = "(?i)" + "|".join(POLICY_PHRASES)
        spaced = pc.replace_substring_regex(seg.lines.take(pa.array(lines)), _WHITESPACE, " ")
        out[lines] = _matches(spaced, pattern)
    return out


def c4_signals_of(seg: TextSegments) -> Columns:
    """The C4 signals of segmented texts, one array per column of `COLUMNS`."""
    terminal = seg.vocabulary_values(False, lambda w: pc.and_(pc.match_substring_regex(w, _TERMINAL),
                                                             pc.invert(pc.match_substring_regex(w, _ELLIPSIS_END))))
    sentence_end = seg.vocabulary_values(False, lambda w: pc.match_substring_regex(w, _SENTENCE_END))
    javascript = _matches(seg.vocabulary, "(?i)javascript")
    _, terminal_lines = seg.line_edge_words(terminal)
    long_word = seg.line_sums(seg.word_chars > MAX_WORD_LENGTH) > 0
    boilerplate = (seg.line_sums(seg.word_property(javascript)) > 0) | _policy_lines(seg)
    kept = terminal_lines & (seg.line_words >= MIN_WORDS_PER_LINE) & ~long_word & ~boilerplate
    sentence_ends = seg.line_sums(seg.word_property(sentence_end))
    return {
        "terminal_punct_line_frac": ratio(seg.doc_line_sums(terminal_lines), seg.doc_lines),
        "c4_kept_line_frac": ratio(seg.doc_line_sums(kept), seg.doc_lines),
        "c4_sentence_count": seg.doc_line_sums(np.where(kept, np.maximum(sentence_ends, 1), 0)),
        "boilerplate_line_frac": ratio(seg.doc_line_sums(boilerplate), seg.doc_lines),
        "has_lorem_ipsum": _matches(seg.texts, "(?i)lorem ipsum"),
        "has_curly_brace": _matches(seg.texts, r"\{"),
    }
