"""The byte-level word counter against Python's `bytes.split()`, whatever the chunking."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from datatrainer.quality.metrics import words
from datatrainer.quality.textnorm import word_counts as textnorm_counts

_TEXTS = st.lists(st.one_of(st.none(), st.text(alphabet=st.sampled_from(list("ab é\t\n\r\f\v\u00a0")), max_size=12)),
                  max_size=30)


@settings(max_examples=80, deadline=None)
@given(_TEXTS, st.sampled_from([1, 2, 5, 1 << 20]), st.sampled_from([pa.string(), pa.large_string()]))
def test_matches_bytes_split(texts: list[str | None], chunk: int, kind: pa.DataType) -> None:
    array = pa.array(texts, kind)
    original, words.CHUNK_BYTES = words.CHUNK_BYTES, chunk
    try:
        for sliced in (array, array.slice(1), array.slice(0, len(array) // 2)):
            expected = [0 if t is None else len(t.encode().split()) for t in sliced.to_pylist()]
            assert words.word_counts(sliced).tolist() == expected
    finally:
        words.CHUNK_BYTES = original


def test_agrees_with_textnorm_on_ordinary_text() -> None:
    texts = pa.array(["The cat sat.", "  two\twords ", "", None, "line\nbreaks\r\nhere", "naïve café"])
    assert words.word_counts(texts).tolist() == [c or 0 for c in textnorm_counts(texts).to_pylist()]
