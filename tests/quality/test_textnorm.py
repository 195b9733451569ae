"""Normalisation against a plain-Python reference, and the C fast path against the Arrow definition, as
properties."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datatrainer.quality.textnorm import normalize_text, normalize_text_arrow, word_counts, words


def reference(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(" " if unicodedata.category(ch)[0] in "PS" else ch for ch in text)
    return re.sub(r"\s+", " ", text).strip()


# Characters with special (multi-character) lower-casing, e.g. 'İ', differ between Arrow's simple case
# mapping and Python's full one; they are left out of the comparison.
_SIMPLE_CASE = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")).filter(lambda c: len(c.lower()) == 1)


@pytest.mark.parametrize("normalize", [normalize_text, normalize_text_arrow])
@settings(max_examples=80, deadline=None)
@given(texts=st.lists(st.text(alphabet=_SIMPLE_CASE, max_size=40), max_size=20))
def test_normalize_matches_reference(normalize: Callable[[pa.Array], pa.Array], texts: list[str]) -> None:
    out = normalize(pa.array(texts, pa.string())).to_pylist()
    assert out == [reference(t) for t in texts]


# Every ASCII byte (control bytes too, where Python's and RE2's idea of whitespace differ, so the reference
# above cannot judge), mixed with a few characters that send a row to the Arrow path.
_ASCII_HEAVY = st.text(alphabet=st.sampled_from([chr(c) for c in range(128)] + ["é", "\uff21", "\u00a0", "ß"]),
                       max_size=30)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), _ASCII_HEAVY), max_size=20), st.integers(0, 3))
def test_fast_path_matches_arrow_definition(texts: list[str | None], cut: int) -> None:
    """Row for row, nulls, slices, large_string and chunked arrays included."""
    array = pa.array(texts, pa.string()).slice(min(cut, len(texts)))
    expected = normalize_text_arrow(array).to_pylist()
    assert normalize_text(array).to_pylist() == expected
    large = normalize_text(array.cast(pa.large_string()))
    assert large.type == pa.large_string() and large.to_pylist() == expected
    chunked = normalize_text(pa.chunked_array([array, array], pa.string()))
    assert isinstance(chunked, pa.ChunkedArray) and chunked.to_pylist() == expected * 2


def test_examples() -> None:
    full_width = "\uff26\uff55\uff4c\uff4c\u3000\uff57\uff49\uff44\uff54\uff48"  # "Full width", NFKC-folded
    out = normalize_text(pa.array(["Hello,   WORLD!!", full_width, "end.Start", None])).to_pylist()
    assert out == ["hello world", "full width", "end start", None]
    assert word_counts(pa.array(["a b  c", "", "  x ", "one\ttwo\nthree"])).to_pylist() == [3, 0, 1, 3]
    assert words(pa.array(["  x  y ", ""])).to_pylist() == [["x", "y"], []]
