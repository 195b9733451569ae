"""Coverage metrics against brute-force references, and a k-center sample covers more than a random one."""

from __future__ import annotations

import numpy as np
import pytest

from datatrainer.errors import DatatrainerError
from datatrainer.sampling import SamplerInputs, make_sampler
from datatrainer.sampling.clustering import kmeans, unit_rows
from datatrainer.sampling.coverage import measure_coverage, nearest_kept_distance
from tests.sampling.sampling_helpers import clustered_embeddings, unit


def test_metrics_match_brute_force(monkeypatch: pytest.MonkeyPatch) -> None:
    x, _ = clustered_embeddings(300, clusters=6, seed=2)
    kept = np.sort(np.random.default_rng(0).choice(300, 30, replace=False))
    monkeypatch.setattr("datatrainer.sampling.coverage._BLOCK_CELLS", 1_000)  # many blocks both ways
    summary = measure_coverage(x, kept, clusters=10, seed=1, radii=(0.1, 0.25))

    distance = np.array([min(1 - float(a @ x[j]) for j in kept) for a in x])
    distance[kept] = 0.0
    np.testing.assert_allclose(nearest_kept_distance(unit_rows(x), kept), distance, atol=1e-5)
    assert summary.distance.mean == pytest.approx(distance.mean(), abs=1e-5)
    assert summary.distance.max == pytest.approx(distance.max(), abs=1e-5)
    assert summary.distance.p90 == pytest.approx(np.percentile(distance, 90), abs=1e-5)
    assert summary.within_radius == pytest.approx([(distance <= r).mean() for r in (0.1, 0.25)], abs=1 / 300)

    labels = kmeans(unit_rows(x), 10, seed=1).labels
    covered = {int(labels[i]) for i in kept}
    assert summary.clusters == len(set(labels.tolist())) and summary.clusters_covered == len(covered)
    assert summary.cluster_coverage == pytest.approx(len(covered) / summary.clusters)
    for cluster in summary.per_cluster:
        members = np.flatnonzero(labels == cluster.cluster)
        assert (cluster.size, cluster.kept) == (len(members), len(np.intersect1d(members, kept)))
    assert (summary.records, summary.kept) == (300, 30)
    assert len(summary.projection.x) == 300 and sum(summary.projection.kept) == 30


def test_edge_cases() -> None:
    x, _ = clustered_embeddings(50, seed=0)
    everything = measure_coverage(x, np.arange(50), clusters=5)
    assert everything.cluster_coverage == 1.0 and everything.distance.max == 0.0 and everything.within_radius[0] == 1
    nothing = measure_coverage(x, np.empty(0, np.int64), clusters=5)
    assert nothing.cluster_coverage == 0.0 and nothing.distance.mean is None and nothing.within_radius == [0, 0, 0]
    assert measure_coverage(x[:1], np.array([0])).clusters == 1
    with pytest.raises(DatatrainerError, match="radii must be cosine distances"):
        measure_coverage(x, np.arange(5), radii=(3.0,))


def test_kcenter_covers_more_than_random() -> None:
    """Clusters of very different sizes: random samples the big ones, k-center reaches every one."""
    sizes = [400, 300, 200, 20, 10, 5, 5, 5, 3, 2]
    rng = np.random.default_rng(4)
    centers = unit(rng.standard_normal((len(sizes), 32)))
    x = unit(np.repeat(centers, sizes, axis=0) + 0.4 * rng.standard_normal((sum(sizes), 32)) / np.sqrt(32))
    data = SamplerInputs.of([str(i) for i in range(len(x))], embeddings=x)
    uncovered = 0
    for seed in range(3):
        greedy = measure_coverage(x, make_sampler("kcenter").select(data, 50, seed).indices, clusters=10)
        uniform = measure_coverage(x, make_sampler("random").select(data, 50, seed).indices, clusters=10)
        assert greedy.cluster_coverage == 1.0
        uncovered += uniform.clusters - uniform.clusters_covered
        assert greedy.distance.max is not None and uniform.distance.max is not None
        assert greedy.distance.max < uniform.distance.max / 2
        assert greedy.within_radius[-1] == 1.0 > uniform.within_radius[-1]
    assert uncovered > 0
