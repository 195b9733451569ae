"""The pieces of near-dedup against plain-Python references, mostly as properties."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pyarrow as pa
import pytest
from datasketch.lsh import _optimal_param
from hypothesis import given, settings
from hypothesis import strategies as st

from datatrainer.evaluation.fixtures import dupeval
from datatrainer.quality.clusters import component_labels
from datatrainer.quality.jaccard import pair_jaccard
from datatrainer.quality.kernels import kernels
from datatrainer.quality.minhash import EMPTY, band_hashes, candidate_pairs, lsh_bands, signatures
from datatrainer.quality.shingles import NO_SHINGLE, Shingles, shingle_hashes
from datatrainer.quality.spool import Spool
from datatrainer.quality.textnorm import ASCII_TABLE

# Words and separators that exercise the ASCII map and the general path: case, punctuation, every kind of
# whitespace (including \v and \x1c, which normalize_text trims but does not split on), non-ASCII letters,
# full-width forms (\uff21\uff42\uff43 is a full-width 'Abc'), and control bytes that stay inside words.
_PIECES = ["alpha", "Beta", "GAMMA", "δέλτα", "straße", "\uff21\uff42\uff43", "x1", "42", "naïve", "a\x00b", "",
           " ", "  ", ", ", ". ", "!", "\t", "\n", "\x0b", "\x1c", "—", "'", "(", "\u00a0"]
texts_strategy = st.lists(st.one_of(st.none(), st.lists(st.sampled_from(_PIECES), max_size=14).map("".join)),
                          max_size=12)


def _slots(shingles: Shingles) -> list[list[int]]:
    hashes = shingles.hashes.tolist()
    offsets = shingles.offsets.tolist()
    return [[h for h in hashes[a:b] if h != int(NO_SHINGLE)] for a, b in pairwise(offsets)]


def _reference_slots(words: list[list[str]], ngram: int) -> list[list[tuple[str, ...]]]:
    return [[tuple(w[i : i + ngram]) for i in range(len(w) - ngram + 1)] if len(w) >= ngram
            else ([tuple(w)] if w else []) for w in words]


@settings(max_examples=150, deadline=None)
@given(texts_strategy, st.integers(1, 4), st.booleans())
def test_shingle_hashes_match_python_shingles(texts: list[str | None], ngram: int, normalize: bool) -> None:
    """Slot for slot, equal shingles get equal hashes and different shingles different hashes."""
    array = pa.array(texts, pa.string())
    ours = _slots(shingle_hashes(array, ngram=ngram, normalize=normalize))
    reference = _reference_slots(dupeval.reference_words(array, normalize=normalize), ngram)
    assert [len(row) for row in ours] == [len(row) for row in reference]
    pairs = {(h, s) for row_h, row_s in zip(ours, reference, strict=True) for h, s in zip(row_h, row_s, strict=True)}
    assert len({h for h, _ in pairs}) == len({s for _, s in pairs}) == len(pairs)


def test_shingles_ignore_case_punctuation_and_spacing_but_not_order() -> None:
    rows = _slots(shingle_hashes(pa.array(["The cat, sat.", "the  CAT sat!", "cat the sat"]), ngram=2))
    assert rows[0] == rows[1] and set(rows[0]).isdisjoint(rows[2])
    seeded = _slots(shingle_hashes(pa.array(["The cat, sat."]), ngram=2, seed=2))
    assert set(seeded[0]).isdisjoint(rows[0])


def test_a_word_hashes_the_same_inside_a_text_and_at_its_end() -> None:
    """Words are ended by the next space, or (at a text's end) by their length: both must agree, for every
    length around the 8-byte chunks, including the text just before being glued to the next one."""
    texts = []
    for length in range(1, 26):
        word = "".join(chr(ord("a") + i % 26) for i in range(length))
        texts += [f"{word} x", f"x {word}", word]
    rows = _slots(shingle_hashes(pa.array(texts), ngram=1))
    for first in range(0, len(rows), 3):
        inside, at_end, alone = rows[first][0], rows[first + 1][1], rows[first + 2][0]
        assert inside == at_end == alone
    assert len({row[0] for row in rows[::3]}) == 25


def test_words_across_the_kernels_64_byte_blocks() -> None:
    """The shingle kernel finds spaces 64 bytes at a time: words ending just before, at and after a block
    boundary, and texts whose length is a multiple of 64, hash like the same word anywhere else."""
    texts, expected = [], []
    for padding in range(0, 130):
        for word in ("ab", "abcdefghij", "x" * 20):
            texts.append("." * padding + word + ("" if padding % 3 else " tail"))
            expected.append(word)
    rows = _slots(shingle_hashes(pa.array(texts), ngram=1))
    alone = {word: _slots(shingle_hashes(pa.array([word]), ngram=1))[0][0] for word in set(expected)}
    assert [row[0] for row in rows] == [alone[word] for word in expected]
    assert {len(text) for text in texts} >= {64, 128}


def test_kernels_refuse_inconsistent_buffers() -> None:
    """The C loops check sizes and offsets before reading: bad input is a one-line error, not a crash."""
    texts = pa.array(["one two"])
    hashes = np.empty(8, np.uint64)
    with pytest.raises(ValueError, match="offsets"):
        kernels.shingle_hashes(b"one two", np.array([0, 9]), ASCII_TABLE, True, 1, 1, hashes, np.empty(2, np.int64),
                               np.empty(1, np.uint8))
    with pytest.raises(ValueError, match="offsets must not decrease"):
        kernels.normalize(b"abc", np.array([0, 2, 1, 3]), ASCII_TABLE, np.empty(3, np.uint8),
                          np.empty(4, np.int64), np.empty(3, np.uint8))
    with pytest.raises(ValueError, match="out_hashes"):
        kernels.shingle_hashes(b"one two", np.array([0, 7]), ASCII_TABLE, True, 1, 1, np.empty(1, np.uint64),
                               np.empty(2, np.int64), np.empty(1, np.uint8))
    shingles = shingle_hashes(texts, ngram=1)
    with pytest.raises(IndexError, match="row out of range"):
        pair_jaccard(shingles, np.array([0]), np.array([1]))
    with pytest.raises(ValueError, match="bands"):
        band_hashes(np.zeros((2, 8), np.uint32), 3, 3)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 40).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=60))))
def test_components_match_union_find(graph: tuple[int, list[tuple[int, int]]]) -> None:
    rows, edges = graph
    pairs = [(min(a, b), max(a, b)) for a, b in edges]
    left = np.array([a for a, _ in pairs], dtype=np.int64)
    right = np.array([b for _, b in pairs], dtype=np.int64)
    assert component_labels(rows, left, right).tolist() == dupeval.components(rows, pairs).tolist()


def test_components_of_a_long_chain() -> None:
    rows = 100_000
    order = np.random.default_rng(0).permutation(rows)
    labels = component_labels(rows, np.minimum(order[:-1], order[1:]), np.maximum(order[:-1], order[1:]))
    assert (labels == 0).all()


_POOL = np.random.default_rng(1).integers(0, 2**63, 12, dtype=np.uint64).tolist()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.sampled_from([*_POOL, int(NO_SHINGLE)]), max_size=20), min_size=1, max_size=10),
       st.data())
def test_pair_jaccard_matches_sets(rows: list[list[int]], data: st.DataObject) -> None:
    pairs = data.draw(st.lists(st.tuples(st.integers(0, len(rows) - 1), st.integers(0, len(rows) - 1)), max_size=15))
    offsets = np.concatenate(([0], np.cumsum([len(r) for r in rows])))
    flat = np.array([h for r in rows for h in r], dtype=np.uint64)
    left = np.array([a for a, _ in pairs], dtype=np.int64)
    right = np.array([b for _, b in pairs], dtype=np.int64)
    ours = pair_jaccard(Shingles(flat, offsets), left, right)
    sets = [set(r) - {int(NO_SHINGLE)} for r in rows]
    expected = [len(sets[a] & sets[b]) / len(sets[a] | sets[b]) if sets[a] | sets[b] else 1.0 for a, b in pairs]
    assert ours.tolist() == pytest.approx(expected)


def test_signature_agreement_estimates_jaccard() -> None:
    """One-permutation MinHash with densification: slot agreement is an unbiased Jaccard estimate, as
    precise as 128 independent permutations (standard error sqrt(J(1 - J) / 128) <= 0.044)."""
    rng = np.random.default_rng(2)
    rows, truths = [], []
    for keep in np.linspace(0.3, 1.0, 200):
        base = rng.integers(0, 2**64, 150, dtype=np.uint64)
        cut = int(150 * keep)
        rows += [base, np.concatenate((base[:cut], rng.integers(0, 2**64, 150 - cut, dtype=np.uint64)))]
        truths.append(cut / (300 - cut))
    offsets = np.arange(0, 150 * len(rows) + 1, 150)
    signature = signatures(Shingles(np.concatenate(rows), offsets), 128, seed=1)
    errors = (signature[0::2] == signature[1::2]).mean(axis=1) - truths
    assert abs(errors.mean()) < 0.01  # measured 0.0007
    assert errors.std() < 0.045  # measured 0.035


def test_signatures_of_empty_tiny_and_placeholder_rows() -> None:
    one, two = np.uint64(0x10000000 << 32 | 77), np.uint64(0xF0000000 << 32 | 5)  # bins 4 and 60 of 64
    hashes = np.array([one, NO_SHINGLE, one, two, NO_SHINGLE], dtype=np.uint64)
    signature = signatures(Shingles(hashes, np.array([0, 0, 2, 5])), 64, seed=3)
    assert (signature[0] == EMPTY).all()  # no shingles
    assert (signature[1] == 77).all()  # one shingle fills every slot; the placeholder changes nothing
    assert set(signature[2].tolist()) == {77, 5}


def test_lsh_shape_matches_datasketch() -> None:
    for threshold in (0.5, 0.7, 0.8, 0.9):
        for weights in ((0.5, 0.5), (0.05, 0.95)):
            assert lsh_bands(threshold, 128, *weights) == _optimal_param(threshold, 128, *weights)


def test_candidates_are_the_pairs_sharing_a_bucket() -> None:
    rng = np.random.default_rng(4)
    matrix = rng.integers(0, 6, (200, 3)).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    matrix[:, 2] = np.arange(200)  # a band where every row is alone
    pairs = candidate_pairs(matrix)
    edges = {(b[0], m) for band in range(3) for value in np.unique(matrix[:, band])
             for b in [np.flatnonzero(matrix[:, band] == value).tolist()] for m in b[1:]}
    expected = dupeval.components(200, edges)
    assert component_labels(200, pairs[:, 0], pairs[:, 1]).tolist() == expected.tolist()
    assert (pairs[:, 0] < pairs[:, 1]).all()
    assert ((matrix[pairs[:, 0]] == matrix[pairs[:, 1]]).any(axis=1)).all()
    assert len({tuple(pair) for pair in pairs.tolist()}) == len(pairs) < 2 * 2 * 200  # distinct, star + chain
    assert candidate_pairs(matrix[:, 2:]).shape == (0, 2)
    signature = rng.integers(0, 2**32, (5, 12), dtype=np.uint64).astype(np.uint32)
    signature[3] = signature[1]
    hashed = band_hashes(signature, 4, 3)
    assert hashed.shape == (5, 4) and (hashed[3] == hashed[1]).all() and (hashed[3] != hashed[2]).all()


def test_candidates_of_many_copies_need_the_pair_set_to_grow() -> None:
    """1,000 identical rows in 4 bands: the star and chain of one bucket, 1,997 distinct pairs, found once."""
    pairs = candidate_pairs(np.full((1_000, 4), 7, dtype=np.uint64))
    assert len(pairs) == 1_997 and len({tuple(pair) for pair in pairs.tolist()}) == 1_997
    assert component_labels(1_000, pairs[:, 0], pairs[:, 1]).tolist() == [0] * 1_000


@pytest.mark.parametrize("budget", [1 << 20, 16])
def test_spool_in_memory_and_on_disk(tmp_path: pytest.TempPathFactory, budget: int) -> None:
    with Spool(np.uint64, 3, tmp_path, budget) as spool:  # type: ignore[arg-type]
        parts = [np.arange(3 * n, dtype=np.uint64).reshape(n, 3) for n in (2, 0, 5)]
        for part in parts:
            spool.append(part)
        assert len(spool) == 7
        assert spool.array().tolist() == np.concatenate(parts).tolist()
