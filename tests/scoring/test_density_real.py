"""Density on MiniLM embeddings of real text: the defaults find planted dense spots, and the sketch tracks
the exact sum of its own kernel.

The embeddings of `planted_real_corpus()` are stored in `data/planted-minilm.npz` (float16, written by
`benchmarks/density_quality.py --fixture`): embedding its 1,261 texts takes about a minute on two busy cores,
the sketch checks take a second. `tests/models` checks that the stored rows are what MiniLM gives today.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from datatrainer.evaluation.fixtures.planted import ISOLATED, NEAR_DUPLICATE, PlantedCorpus, auc, planted_real_corpus
from datatrainer.scoring.density import density_scores
from datatrainer.scoring.kernels import collision_kernel, exact_kernel_sums
from datatrainer.scoring.race import RaceParams

FIXTURE = Path(__file__).parent / "data" / "planted-minilm.npz"


@pytest.fixture(scope="module")
def planted() -> tuple[np.ndarray, PlantedCorpus]:
    corpus = planted_real_corpus()
    stored = np.load(FIXTURE)
    assert stored["embeddings"].shape == (len(corpus.texts), 384), "regenerate the fixture (see module docstring)"
    np.testing.assert_array_equal(stored["kind"], corpus.kind)
    np.testing.assert_array_equal(stored["group"], corpus.group)
    return stored["embeddings"].astype(np.float32), corpus


def planted_auc(scores: np.ndarray, corpus: PlantedCorpus, kind: int | None = None) -> float:
    isolated = corpus.kind == ISOLATED
    positive = ~isolated if kind is None else corpus.kind == kind
    return auc(scores[positive], scores[isolated])


def test_defaults_rank_planted_dense_spots_above_isolated_records(planted: tuple[np.ndarray, PlantedCorpus]) -> None:
    vectors, corpus = planted
    scores = density_scores(vectors, RaceParams())
    assert planted_auc(scores, corpus) >= 0.95
    assert planted_auc(scores, corpus, NEAR_DUPLICATE) >= 0.97


def test_one_hash_per_row_is_too_wide_to_see_near_duplicates(planted: tuple[np.ndarray, PlantedCorpus]) -> None:
    """Why rows concatenate hashes: with p = 1 every record collides with a large share of all others."""
    vectors, corpus = planted
    assert planted_auc(density_scores(vectors, RaceParams(concat=1)), corpus) < 0.65


def test_sketch_tracks_the_exact_sum_of_its_kernel(planted: tuple[np.ndarray, PlantedCorpus]) -> None:
    vectors, _ = planted
    exact = exact_kernel_sums(vectors, collision_kernel(RaceParams()))
    correlations = [spearmanr(density_scores(vectors, RaceParams(rows=rows)), exact)[0] for rows in (64, 256, 2048)]
    assert correlations[0] < correlations[1] < correlations[2]
    assert correlations[2] >= 0.9
    srp = RaceParams(family="srp", concat=12, rows=1024)
    assert spearmanr(density_scores(vectors, srp), exact_kernel_sums(vectors, collision_kernel(srp)))[0] >= 0.9
