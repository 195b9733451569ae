"""The public cluster functions against independent references: exact Jaccard by brute force on Python
shingle sets, a dict of normalised texts, and datasketch's MinHashLSH on the same data."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from datasketch import MinHash, MinHashLSH

from datatrainer.errors import DatatrainerError
from datatrainer.evaluation.fixtures import dupeval
from datatrainer.evaluation.fixtures.dupcorpus import PlantedCorpus, planted_corpus
from datatrainer.quality.dedup import exact_duplicate_clusters, find_near_duplicates, near_duplicate_clusters
from datatrainer.quality.textnorm import normalize_text_arrow


@pytest.fixture(scope="module")
def corpus() -> PlantedCorpus:
    return planted_corpus(700, near_fraction=0.25, exact_fraction=0.05, seed=3)


@pytest.fixture(scope="module")
def shingle_sets(corpus: PlantedCorpus) -> list[set[tuple[str, ...]]]:
    return dupeval.reference_shingles(dupeval.reference_words(corpus.texts))


@pytest.mark.parametrize("threshold", [0.7, 0.8])
def test_near_duplicates_match_brute_force_jaccard(corpus: PlantedCorpus, shingle_sets: list[set[tuple[str, ...]]],
                                                   threshold: float) -> None:
    truth = dupeval.similar_pairs(shingle_sets, threshold)  # all 244,650 pairs, exactly
    found = find_near_duplicates(corpus.texts, threshold=threshold)
    recall, precision = dupeval.recall_precision({(i, j) for i, j in found.pairs.tolist()}, truth)
    assert precision == 1.0  # every pair is checked with its exact Jaccard
    assert recall >= 0.97  # LSH can miss a borderline pair: measured 0.992 (0.7) and 1.0 (0.8)
    # Clusters are the connected components of the similar pairs, named after their first row.
    expected = dupeval.components(len(found.labels), truth)
    assert np.mean(found.labels == expected) >= 0.99
    assert (found.labels[found.labels] == found.labels).all()
    assert (found.labels <= np.arange(len(found.labels))).all()
    moved = np.flatnonzero(~found.kept)
    reference = [dupeval.jaccard(shingle_sets[row], shingle_sets[found.labels[row]]) for row in moved]
    assert found.similarity[moved] == pytest.approx(reference)


def test_recall_at_least_datasketch(corpus: PlantedCorpus, shingle_sets: list[set[tuple[str, ...]]]) -> None:
    threshold = 0.7
    words = dupeval.reference_words(corpus.texts)
    lsh = MinHashLSH(threshold=threshold, num_perm=128)
    sketches = []
    for row, text_words in enumerate(words):
        sketch = MinHash(num_perm=128, seed=1)
        sketch.update_batch([" ".join(s).encode() for s in dupeval.reference_shingles([text_words])[0]])
        lsh.insert(row, sketch)
        sketches.append(sketch)
    theirs = {(min(row, other), max(row, other)) for row, sketch in enumerate(sketches)
              for other in lsh.query(sketch) if other != row}
    truth = dupeval.similar_pairs(shingle_sets, threshold)
    ours = dupeval.cluster_pairs(near_duplicate_clusters(corpus.texts, threshold=threshold))
    our_recall, our_precision = dupeval.recall_precision(ours, truth)
    their_recall, their_precision = dupeval.recall_precision(theirs, truth)
    assert our_recall >= their_recall
    assert our_precision >= their_precision


def test_exact_duplicates_match_a_dict_of_normalised_texts(corpus: PlantedCorpus) -> None:
    texts = pa.concat_arrays([corpus.texts.combine_chunks(), pa.array(["", "", None, None, "  ", "A.", "a"])])
    first_row: dict[str, int] = {}
    expected = []
    for row, text in enumerate(normalize_text_arrow(texts).to_pylist()):
        expected.append(row if text is None else first_row.setdefault(text, row))
    assert exact_duplicate_clusters(texts).tolist() == expected
    raw = exact_duplicate_clusters(texts, normalize=False)
    assert raw[-2] != raw[-1] and raw[-7] == raw[-6]


def test_conventions_for_empty_null_and_short_texts() -> None:
    texts = pa.array(["one two three four", "One, two; THREE four!", None, "", "...", None, "solo", "SOLO"])
    labels = near_duplicate_clusters(texts, threshold=0.9, ngram=3)
    assert labels.tolist() == [0, 0, 2, 3, 3, 5, 6, 6]
    assert near_duplicate_clusters(pa.array([], pa.string())).tolist() == []
    assert exact_duplicate_clusters(pa.chunked_array([], pa.string())).tolist() == []


def test_deterministic_for_a_seed_and_seed_matters_only_for_borderline(corpus: PlantedCorpus) -> None:
    first = near_duplicate_clusters(corpus.texts, threshold=0.7, seed=5)
    assert (near_duplicate_clusters(corpus.texts, threshold=0.7, seed=5) == first).all()
    other = near_duplicate_clusters(corpus.texts, threshold=0.7, seed=6)
    assert np.mean(other == first) > 0.99


@pytest.mark.parametrize(("params", "message"), [
    ({"threshold": 0.0}, "threshold"),
    ({"threshold": 1.5}, "threshold"),
    ({"ngram": 0}, "ngram"),
    ({"num_perm": 0}, "num-perm"),
])
def test_bad_parameters_are_one_line_errors(params: dict[str, float], message: str) -> None:
    with pytest.raises(DatatrainerError, match=message) as error:
        near_duplicate_clusters(pa.array(["a"]), **params)  # type: ignore[arg-type]
    assert "\n" not in str(error.value)
