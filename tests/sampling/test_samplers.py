"""Each sampler against a reference: score ranks vs sorting, k-center vs the brute-force optimum, SemDeDup
and prototypes vs brute-force loops over the same k-means, D4 as their composition, DSIR on real text."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from datatrainer.corpora import news_articles, wikipedia_articles
from datatrainer.sampling import SamplerInputs, make_sampler
from datatrainer.sampling.clustering import Clustering, kmeans, unit_rows
from datatrainer.sampling.dsir import importance_log_weights
from datatrainer.sampling.kcenter import farthest_first
from datatrainer.sampling.semdedup import find_duplicates
from tests.sampling.sampling_helpers import clustered_embeddings, unit


def ids(n: int) -> list[str]:
    return [f"r{i}" for i in range(n)]


# --- score ranks ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("k", [1, 5, 17, 39])
def test_ranked_samplers_match_sorting(k: int) -> None:
    scores = np.random.default_rng(1).integers(0, 6, size=40).astype(float)  # many ties
    data = SamplerInputs.of(ids(40), scores=scores)
    by_high = sorted(range(40), key=lambda i: (-scores[i], i))
    by_low = sorted(range(40), key=lambda i: (scores[i], i))
    middle_start = (40 - k) // 2
    expected = {"top-k": by_high[:k], "bottom-k": by_low[:k]}
    for name, rows in expected.items():
        assert make_sampler(name).select(data, k, 0).indices.tolist() == sorted(rows), name
    for band, rows in (("low", by_low[:k]), ("middle", by_low[middle_start:middle_start + k]),
                       ("high", by_high[:k])):
        assert make_sampler("band", {"band": band}).select(data, k, 0).indices.tolist() == sorted(rows), band


def test_top_k_agrees_with_argsort_without_ties() -> None:
    scores = np.random.default_rng(2).random(1_000)
    selection = make_sampler("top-k").select(SamplerInputs.of(ids(1_000), scores=scores), 100, 0)
    assert selection.indices.tolist() == sorted(np.argsort(scores)[-100:].tolist())
    assert selection.stats["min_kept_score"] == pytest.approx(np.sort(scores)[-100])


# --- k-center ---------------------------------------------------------------------------------------------------

def covering_radius(points: np.ndarray, centers: np.ndarray) -> float:
    distances = np.linalg.norm(points[:, None, :] - points[centers][None, :, :], axis=2)
    return float(distances.min(axis=1).max())


@pytest.mark.parametrize("seed", range(4))
def test_kcenter_within_twice_the_optimum(seed: int) -> None:
    rng = np.random.default_rng(seed)
    points = rng.standard_normal((12, 2))
    optimum = min(covering_radius(points, np.array(c)) for c in itertools.combinations(range(12), 3))
    selection = make_sampler("kcenter", {"metric": "l2"}).select(SamplerInputs.of(ids(12), embeddings=points), 3,
                                                                 seed)
    radius = covering_radius(points, selection.indices)
    assert radius <= 2 * optimum + 1e-9
    assert selection.stats["covering_radius"] == pytest.approx(radius, rel=1e-5)
    # Cosine: farthest-first in chordal distance between unit vectors, where the guarantee holds.
    sphere = unit(rng.standard_normal((12, 3)))
    optimum = min(covering_radius(sphere, np.array(c)) for c in itertools.combinations(range(12), 3))
    kept = make_sampler("kcenter").select(SamplerInputs.of(ids(12), embeddings=sphere), 3, seed).indices
    assert covering_radius(sphere, kept) <= 2 * optimum + 1e-6


def test_kcenter_covers_better_than_random() -> None:
    points, _ = clustered_embeddings(600, clusters=12, seed=5)
    data = SamplerInputs.of(ids(600), embeddings=points)
    for seed in range(3):
        greedy = covering_radius(points, make_sampler("kcenter").select(data, 40, seed).indices)
        uniform = covering_radius(points, make_sampler("random").select(data, 40, seed).indices)
        assert greedy < uniform


def test_farthest_first_order_and_duplicates() -> None:
    """Each new center is the row farthest from the earlier ones; exact duplicates come only at the end."""
    points = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 0.0], [5.0, 5.0]])
    order, radius = farthest_first(points, 5, start=0, metric="l2")
    assert order.tolist() == [0, 1, 2, 4, 3] and radius == 0.0
    assert farthest_first(points, 3, start=0, metric="l2")[1] == pytest.approx(np.sqrt(50))


# --- SemDeDup, prototypes, D4 -------------------------------------------------------------------------------

def brute_force_semdedup(unit_x: np.ndarray, clustering: Clustering, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """The paper's loop: per cluster, farthest from the centroid first; drop a row too similar to a kept one."""
    duplicate_of = np.full(len(unit_x), -1)
    similarity = np.full(len(unit_x), np.nan)
    for cluster in range(clustering.count):
        members = sorted(np.flatnonzero(clustering.labels == cluster), key=lambda i: (-clustering.distance[i], i))
        kept: list[int] = []
        for row in members:
            sims = [float(unit_x[row] @ unit_x[other]) for other in kept]
            if sims and max(sims) > 1 - eps:
                duplicate_of[row], similarity[row] = kept[int(np.argmax(sims))], max(sims)
            else:
                kept.append(row)
    return duplicate_of, similarity


def planted_duplicates(n: int = 300, planted: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Clustered rows plus near-copies (cosine > 0.98) of the first `planted` rows, some copied twice."""
    base, _ = clustered_embeddings(n, seed=seed)
    rng = np.random.default_rng(seed)
    sources = np.r_[np.arange(planted), np.arange(planted // 4)]
    copies = unit(base[sources] + 0.1 * rng.standard_normal((len(sources), base.shape[1])) / np.sqrt(base.shape[1]))
    return np.vstack([base, copies]), sources


@pytest.mark.parametrize("eps", [0.02, 0.05, 0.3])
def test_semdedup_matches_brute_force(eps: float) -> None:
    x, _ = planted_duplicates()
    clustering = kmeans(unit_rows(x), 12, seed=0)
    found = find_duplicates(unit_rows(x), clustering, eps)
    duplicate_of, similarity = brute_force_semdedup(unit_rows(x), clustering, eps)
    assert np.array_equal(found.duplicate_of, duplicate_of)
    np.testing.assert_allclose(found.similarity, similarity, rtol=1e-5)


def test_semdedup_removes_planted_duplicates() -> None:
    x, sources = planted_duplicates()
    n = len(x)
    selection = make_sampler("semdedup", {"clusters": 12}).select(SamplerInputs.of(ids(n), embeddings=x), n, 0)
    kept = set(selection.indices.tolist())
    copies = np.arange(300, n)
    for source in np.unique(sources):
        group = [source, *copies[sources == source]]
        assert len(kept.intersection(group)) == 1, group
    assert selection.stats["duplicates"] == len(copies) and selection.stats["short_of_budget"] == len(copies)
    duplicates = selection.duplicates
    assert duplicates is not None and duplicates.reason == "near-duplicate (cosine > 0.95)"
    removed = np.flatnonzero(duplicates.duplicate_of >= 0)
    assert set(removed.tolist()).isdisjoint(kept) and set(duplicates.duplicate_of[removed].tolist()) <= kept
    assert (duplicates.similarity[removed] > 0.95).all()


def test_semdedup_subsamples_survivors_to_the_budget() -> None:
    x, _ = planted_duplicates()
    data = SamplerInputs.of(ids(len(x)), embeddings=x)
    full = make_sampler("semdedup").select(data, len(x), 0)
    part = make_sampler("semdedup").select(data, 100, 0)
    assert len(part.indices) == 100 and set(part.indices.tolist()) <= set(full.indices.tolist())


def test_prototypes_keeps_the_farthest_from_centroids() -> None:
    x, _ = clustered_embeddings(400, seed=3)
    selection = make_sampler("prototypes", {"clusters": 10}).select(SamplerInputs.of(ids(400), embeddings=x), 50, 7)
    clustering = kmeans(unit_rows(x), 10, seed=7)
    centroids = clustering.centroids[clustering.labels]
    distance = [1 - float(x[i] @ centroids[i]) / float(np.linalg.norm(x[i]) * np.linalg.norm(centroids[i]))
                for i in range(400)]
    expected = sorted(sorted(range(400), key=lambda i: (-distance[i], i))[:50])
    assert selection.indices.tolist() == expected


def test_d4_is_semdedup_then_prototypes() -> None:
    x, _ = planted_duplicates()
    data = SamplerInputs.of(ids(len(x)), embeddings=x)
    params: dict[str, Any] = {"clusters": 12, "eps": 0.05}
    survivors = make_sampler("semdedup", params).select(data, len(x), 0).indices
    selection = make_sampler("d4", {**params, "prototype_clusters": 8}).select(data, 120, 0)
    remainder = SamplerInputs.of(ids(len(survivors)), embeddings=x[survivors])
    prototypes = make_sampler("prototypes", {"clusters": 8}).select(remainder, 120, 0).indices
    assert selection.indices.tolist() == survivors[prototypes].tolist()
    assert selection.stats["survivors"] == len(survivors) and selection.stats["short_of_budget"] == 0


# --- DSIR ---------------------------------------------------------------------------------------------------------

def test_dsir_selects_target_like_text() -> None:
    """Raw: Wikipedia articles and news; target: other news. DSIR's weights separate the domains and its
    sample is mostly news."""
    wiki = [a["text"] for a in wikipedia_articles()]
    news = [a["text"] for a in news_articles()]
    raw, target = wiki + news[:150], news[150:]
    is_news = np.r_[np.zeros(len(wiki)), np.ones(150)]
    data = SamplerInputs.of(ids(len(raw)), texts=raw, target_texts=target)
    weights = importance_log_weights(data.texts, data.target_texts, 10_000)  # type: ignore[arg-type]
    assert roc_auc_score(is_news, weights) > 0.95
    kept = make_sampler("dsir").select(data, 100, 0).indices
    assert is_news[kept].mean() > 0.9
    uniform = make_sampler("random").select(data, 100, 0).indices
    assert is_news[uniform].mean() < 0.75


# --- density (inverse propensity) -----------------------------------------------------------------------------

def test_density_over_represents_rare_rows() -> None:
    """A dense blob of 900 rows and 100 isolated ones: with 1/density weights, the isolated rows make up far
    more of the sample than their 10% of the data (random keeps about 10%)."""
    rng = np.random.default_rng(0)
    dense = unit(np.ones((900, 16)) + 0.05 * rng.standard_normal((900, 16)))
    rare = unit(rng.standard_normal((100, 16)))
    x = np.vstack([dense, rare])
    density = np.exp(-np.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=2) / 0.1).sum(axis=1)  # Gaussian kernel sums
    data = SamplerInputs.of(ids(1_000), embeddings=x, scores=density)
    is_rare = np.r_[np.zeros(900, bool), np.ones(100, bool)]
    for seed in range(3):
        assert is_rare[make_sampler("density").select(data, 200, seed).indices].mean() > 0.4
        assert is_rare[make_sampler("random").select(data, 200, seed).indices].mean() < 0.15
