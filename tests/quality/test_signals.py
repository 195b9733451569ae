"""The vectorised Gopher / C4 signals against plain-Python references of the same rules, and on real text."""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datatrainer.quality import signals
from datatrainer.quality.c4 import POLICY_PHRASES
from datatrainer.quality.gopher import BULLETS, STOP_WORDS
from datatrainer.quality.signals import (
    QUALITY_COLUMNS,
    REPETITION_COLUMNS,
    heuristic_signals,
    quality_signals,
    repetition_signals,
)
from tests.quality.real_text import english_articles, news

# ---------------------------------------------------------------- plain-Python references, one rule at a time


def _symbolic(char: str) -> bool:
    return unicodedata.category(char)[0] in "PS"


def _strip_symbols(word: str) -> str:
    start, end = 0, len(word)
    while start < end and _symbolic(word[start]):
        start += 1
    while end > start and _symbolic(word[end - 1]):
        end -= 1
    return word[start:end]


def _lines(text: str) -> list[list[str]]:
    """Words of each line; a blank line has none."""
    return [line.split() for line in text.split("\n")]


def _frac(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def reference_quality(text: str) -> dict[str, Any]:
    lines = [words for words in _lines(text) if words]
    tokens = [word for words in lines for word in words]
    letters = [sum(not _symbolic(c) for c in token) for token in tokens]
    words = sum(n > 0 for n in letters)
    citation = re.compile(r"(?:\[[0-9]*\]|\[edit\])+$")

    def terminal(line: list[str]) -> bool:
        last = citation.sub("", line[-1])
        return last.endswith((".", "?", "!", '"', "\u201d")) and not last.endswith("...")

    def boilerplate(line: list[str]) -> bool:
        lowered = " ".join(line).lower()
        return "javascript" in lowered or any(phrase in lowered for phrase in POLICY_PHRASES)

    kept = [line for line in lines if terminal(line) and len(line) >= 5 and not boilerplate(line)
            and max(len(w) for w in line) <= 1000]
    sentence_end = re.compile("[.!?][\"'\u201d\u2019)\\]]*$")
    return {
        "word_count": words,
        "mean_word_length": _frac(sum(letters), words),
        "symbol_word_ratio": _frac(max(text.count("#"), text.count("...") + text.count("\u2026")), words),
        "alpha_word_frac": _frac(sum(any(c.isalpha() for c in t) for t in tokens), words),
        "stop_word_count": sum(_strip_symbols(t).lower() in STOP_WORDS for t in tokens),
        "bullet_line_frac": _frac(sum(line[0][0] in BULLETS for line in lines), len(lines)),
        "ellipsis_line_frac": _frac(sum(line[-1].endswith(("...", "\u2026")) for line in lines), len(lines)),
        "terminal_punct_line_frac": _frac(sum(map(terminal, lines)), len(lines)),
        "c4_kept_line_frac": _frac(len(kept), len(lines)),
        "c4_sentence_count": sum(max(1, sum(bool(sentence_end.search(w)) for w in line)) for line in kept),
        "boilerplate_line_frac": _frac(sum(map(boilerplate, lines)), len(lines)),
        "has_lorem_ipsum": "lorem ipsum" in text.lower(),
        "has_curly_brace": "{" in text,
    }


def _chars(words: tuple[str, ...] | list[str]) -> int:
    return sum(len(w) for w in words)


def _duplicates(units: list[tuple[Any, ...]], chars: list[int]) -> tuple[int, int]:
    seen: set[tuple[Any, ...]] = set()
    count = dup_chars = 0
    for unit, size in zip(units, chars, strict=True):
        if unit in seen:
            count += 1
            dup_chars += size
        seen.add(unit)
    return count, dup_chars


def reference_repetition(text: str) -> dict[str, float]:
    lines = [tuple(words) for words in _lines(text)]
    nonblank = [line for line in lines if line]
    paragraphs: list[tuple[tuple[str, ...], ...]] = []
    current: list[tuple[str, ...]] = []
    for line in [*lines, ()]:
        if line:
            current.append(line)
        elif current:
            paragraphs.append(tuple(current))
            current = []
    words = [w for line in nonblank for w in line]
    total = _chars(words)
    dup_lines, dup_line_chars = _duplicates(nonblank, [_chars(line) for line in nonblank])
    dup_paras, dup_para_chars = _duplicates(paragraphs, [sum(map(_chars, p)) for p in paragraphs])
    out = {"dup_line_frac": _frac(dup_lines, len(nonblank)), "dup_line_char_frac": _frac(dup_line_chars, total),
           "dup_para_frac": _frac(dup_paras, len(paragraphs)), "dup_para_char_frac": _frac(dup_para_chars, total)}
    for n in (2, 3, 4):
        grams = Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))
        count, size = max(((c, _chars(g)) for g, c in grams.items() if c >= 2), default=(0, 0))
        out[f"top_{n}gram_char_frac"] = min(_frac(count * size, total), 1.0)
    for n in range(5, 11):
        seen: set[tuple[str, ...]] = set()
        covered = [False] * len(words)
        for i in range(len(words) - n + 1):
            gram = tuple(words[i:i + n])
            if gram in seen:
                covered[i:i + n] = [True] * n
            seen.add(gram)
        out[f"dup_{n}gram_char_frac"] = _frac(sum(len(w) for w, c in zip(words, covered, strict=True) if c), total)
    return out


def assert_rows_match(table: pa.Table, expected: list[dict[str, Any]]) -> None:
    for got, want in zip(table.to_pylist(), expected, strict=True):
        for name, value in want.items():
            assert math.isclose(got[name], value, rel_tol=1e-9, abs_tol=1e-12), (name, got[name], value)


# ---------------------------------------------------------------- properties on generated texts

# Words chosen to trigger every rule: stop words in any case, end marks, citations, ellipses, bullets,
# hashes, digits, boilerplate words, non-Latin scripts; few of them, so lines and n-grams repeat.
WORDS = ["the", "The", "OF", "and,", "to", "be", "with", "(that)", "have", "cat", "sat", "mat.", "end!", "why?",
         '"quote"', "said.\u201d", "x.[1]", "[2]", "wait...", "so\u2026", "#tag", "##", "\u2022", "-", "*", "1999",
         "\u2014", "na\u00efve", "\u041f\u0440\u0438\u0432\u0435\u0442", "\u4e2d\u6587", "Lorem", "ipsum",
         "{code}", "JavaScript", "cookie", "policy", "privacy", "terms", "use", "e.g.", "....", "a" * 1001,
         "cookie\u00a0policy"]
SEPARATORS = [" ", " ", " ", " ", "  ", "\n", "\n", "\n\n", " \n \n", "\t", "\u00a0", "\u3000", "\r\n"]


@st.composite
def texts(draw: st.DrawFn) -> str:
    vocabulary = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=8, unique=True))
    words = draw(st.lists(st.sampled_from(vocabulary), max_size=60))
    seps = draw(st.lists(st.sampled_from(SEPARATORS), min_size=len(words) + 1, max_size=len(words) + 1))
    return "".join(sep + word for sep, word in zip(seps, [*words, ""], strict=True))


_ALPHABET = st.sampled_from(list("abcXYZ .,!?\"'#{}[]()-*\u2022\u2026\u00e9\u0436\u4e2d\n\t\u00a0019"))


@settings(max_examples=150, deadline=None)
@given(st.lists(texts(), min_size=1, max_size=6))
def test_quality_signals_match_the_reference(batch: list[str]) -> None:
    assert_rows_match(quality_signals(pa.array(batch)), [reference_quality(t) for t in batch])


@settings(max_examples=150, deadline=None)
@given(st.lists(texts(), min_size=1, max_size=6))
def test_repetition_signals_match_the_reference(batch: list[str]) -> None:
    assert_rows_match(repetition_signals(pa.array(batch)), [reference_repetition(t) for t in batch])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(_ALPHABET, max_size=300), min_size=1, max_size=5))
def test_signals_match_the_reference_on_arbitrary_characters(batch: list[str]) -> None:
    table = heuristic_signals(pa.array(batch))
    assert_rows_match(table, [reference_quality(t) | reference_repetition(t) for t in batch])


def test_chunked_input_nulls_and_chunk_boundaries_give_the_same_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    batch = [*english_articles()[:8], "", "a a a a a a", "x\n\nx"]
    whole = heuristic_signals(pa.array(batch))
    assert whole.column_names == list(QUALITY_COLUMNS + REPETITION_COLUMNS)
    monkeypatch.setattr(signals, "CHUNK", 3)
    chunked = heuristic_signals(pa.chunked_array([batch[:5], batch[5:]]))
    assert chunked.equals(whole)
    assert heuristic_signals(pa.array([None, ""])).to_pylist()[0] == heuristic_signals(pa.array([""])).to_pylist()[0]
    assert quality_signals(pa.array([], pa.string())).num_rows == 0
    assert repetition_signals(pa.array(["one"], pa.large_string())).num_rows == 1


# ---------------------------------------------------------------- hand-made examples that must pass or fail

def _row(text: str) -> dict[str, Any]:
    row: dict[str, Any] = heuristic_signals(pa.array([text])).to_pylist()[0]
    return row


PROSE = ("The committee met on Tuesday to discuss the budget for the coming year. Members agreed that the "
         "library should have longer opening hours, and that the park needs new benches. The proposal to "
         "repair the old bridge with local stone was approved after a long debate. A final report will be "
         "published next month, together with the minutes of the meeting and a list of the decisions.")


def _passes_gopher_quality(row: dict[str, Any]) -> bool:
    return (50 <= row["word_count"] <= 100_000 and 3 <= row["mean_word_length"] <= 10
            and row["symbol_word_ratio"] <= 0.1 and row["bullet_line_frac"] <= 0.9
            and row["ellipsis_line_frac"] <= 0.3 and row["alpha_word_frac"] >= 0.8 and row["stop_word_count"] >= 2)


@pytest.mark.parametrize("corpus", [english_articles, news])
def test_real_articles_pass_gopher_quality(corpus: Any) -> None:
    rows = quality_signals(pa.array(list(corpus()))).to_pylist()
    assert sum(map(_passes_gopher_quality, rows)) / len(rows) >= 0.95


def test_plain_prose_passes_every_rule() -> None:
    prose = _row(PROSE)
    assert _passes_gopher_quality(prose)
    assert prose["word_count"] == len(PROSE.split())
    assert prose["c4_sentence_count"] == 4 and prose["terminal_punct_line_frac"] == 1
    assert not prose["has_lorem_ipsum"] and not prose["has_curly_brace"]
    assert all(prose[name] == 0 for name in REPETITION_COLUMNS if name != "top_2gram_char_frac")
    assert prose["top_2gram_char_frac"] < 0.1


@pytest.mark.parametrize(("text", "signal", "bad"), [
    ("Home\nAbout us\nProducts\nContact\nLogin\nSign up", "word_count", lambda v: v < 50),
    ("#love #instagood #photooftheday #fashion #beautiful " * 12, "symbol_word_ratio", lambda v: v > 0.1),
    ("\n".join(f"\u2022 item {i} of the list with the words" for i in range(12)), "bullet_line_frac",
     lambda v: v > 0.9),
    ("\n".join(f"Read more about story {i} of the week and..." for i in range(12)), "ellipsis_line_frac",
     lambda v: v > 0.3),
    ("| 1999 | 2000 | 3.5 | 4.25 | -- | 7 | " * 10 + "the of", "alpha_word_frac", lambda v: v < 0.8),
    ("Quarterly revenue grew strongly; margins improved; guidance raised. " * 10, "stop_word_count",
     lambda v: v < 2),
    ("Buy cheap shoes now!\n" * 20, "dup_line_frac", lambda v: v > 0.3),
    (PROSE + "\n\n" + PROSE + "\n\n" + PROSE, "dup_para_frac", lambda v: v > 0.3),
    ("cheap shoes best cheap shoes buy cheap shoes sale cheap shoes the cheap shoes of cheap shoes " * 4,
     "top_2gram_char_frac", lambda v: v > 0.2),
    (PROSE + " " + PROSE[:200], "dup_5gram_char_frac", lambda v: v > 0.15),
    ("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 8, "has_lorem_ipsum", bool),
    ("function main() { return the_value; }\n" + PROSE, "has_curly_brace", bool),
    ("Please enable JavaScript in your browser to view this site.\nThis site uses cookies to improve the service."
     "\nRead our privacy policy and the terms of use.", "c4_sentence_count", lambda v: v < 3),
])
def test_spam_fails_the_right_signal(text: str, signal: str, bad: Any) -> None:
    assert bad(_row(text)[signal]), _row(text)[signal]
    assert not bad(_row(PROSE)[signal])
