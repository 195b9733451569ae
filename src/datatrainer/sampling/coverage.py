"""How much of the embedding space a sample keeps: `measure_coverage(embeddings of A, kept rows of A)`.

A full version A and a sample B of it are compared in A's embedding space (cosine distance, 1 - cosine
similarity, on unit rows, as the samplers use):

- cluster coverage: the share of A's k-means clusters (fitted on A) with at least one kept row, and each
  cluster's retention (kept / size): a sample that empties clusters has lost whole topics;
- distance to the nearest kept row, for every row of A (0 for kept rows): mean and percentiles, and the
  share of A within each radius of a kept row. A dropped row close to a kept one is "represented".
- a 2-D PCA projection of A (a seeded subset of at most `plot_points` rows) marking kept and dropped rows,
  for the report's scatter plot.

Nearest-kept distances are computed block by block (at most `_BLOCK_CELLS` similarities at once), so
memory stays bounded whatever the sizes of A and B; the work is |A| x |B| dot products.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field

from datatrainer.errors import DatatrainerError
from datatrainer.sampling.clustering import kmeans, unit_rows

_BLOCK_CELLS = 4_000_000
_PCA_FIT_ROWS = 20_000
DEFAULT_RADII = (0.1, 0.2, 0.3)


class ClusterRetention(BaseModel):
    cluster: int
    size: int
    kept: int
    retention: float


class DistanceSummary(BaseModel):
    """Cosine distance from each row of A to its nearest kept row; None when nothing is kept."""

    mean: float | None
    median: float | None
    p90: float | None
    p99: float | None
    max: float | None


class Projection(BaseModel):
    """PCA coordinates of the plotted rows of A, whether each is kept, and the variance the axes explain."""

    x: list[float]
    y: list[float]
    kept: list[bool]
    explained_variance: list[float]


class CoverageSummary(BaseModel):
    records: int
    kept: int
    clusters: int
    clusters_covered: int
    cluster_coverage: float
    radii: list[float]
    within_radius: list[float] = Field(description="share of A within each radius of a kept row")
    distance: DistanceSummary
    per_cluster: list[ClusterRetention]
    projection: Projection


def nearest_kept_distance(unit: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """Cosine distance from every unit row to its nearest row among `kept` (row indices), in blocks."""
    best = np.full(len(unit), -np.inf, np.float32)
    targets = unit[kept]
    if not len(targets):
        return np.full(len(unit), np.nan, np.float32)
    columns = max(1, min(len(targets), _BLOCK_CELLS // 256))
    rows = max(1, _BLOCK_CELLS // columns)
    for start in range(0, len(unit), rows):
        block = unit[start:start + rows]
        for first in range(0, len(targets), columns):
            similarity = block @ targets[first:first + columns].T
            np.maximum(best[start:start + rows], similarity.max(axis=1), out=best[start:start + rows])
    distance: np.ndarray = np.clip(1.0 - best, 0.0, 2.0)
    distance[kept] = 0.0
    return distance


def _distance_summary(distance: np.ndarray) -> DistanceSummary:
    if np.isnan(distance).all():
        return DistanceSummary(mean=None, median=None, p90=None, p99=None, max=None)
    median, p90, p99 = np.percentile(distance, [50, 90, 99])
    return DistanceSummary(mean=float(distance.mean()), median=float(median), p90=float(p90), p99=float(p99),
                           max=float(distance.max()))


def _projection(unit: np.ndarray, mask: np.ndarray, points: int, seed: int) -> Projection:
    rng = np.random.default_rng(seed)
    n = len(unit)
    shown = np.sort(rng.choice(n, size=min(points, n), replace=False))
    if n < 3:
        return Projection(x=[0.0] * len(shown), y=[0.0] * len(shown), kept=mask[shown].tolist(),
                          explained_variance=[0.0, 0.0])
    fit_rows = np.sort(rng.choice(n, size=min(_PCA_FIT_ROWS, n), replace=False))
    from sklearn.decomposition import PCA  # imported on first use: slow to import

    pca = PCA(n_components=2, random_state=seed).fit(unit[fit_rows])
    xy = pca.transform(unit[shown])
    return Projection(x=xy[:, 0].round(5).tolist(), y=xy[:, 1].round(5).tolist(), kept=mask[shown].tolist(),
                      explained_variance=pca.explained_variance_ratio_.round(5).tolist())


def measure_coverage(embeddings: np.ndarray, kept: np.ndarray, clusters: int = 100, seed: int = 0,
                     radii: tuple[float, ...] = DEFAULT_RADII, plot_points: int = 2_000) -> CoverageSummary:
    """Coverage of the rows `kept` (indices into `embeddings`, the full version A's embeddings)."""
    n = len(embeddings)
    if n == 0:
        raise DatatrainerError("cannot measure coverage of an empty version")
    if any(not 0 <= radius <= 2 for radius in radii):
        raise DatatrainerError(f"radii must be cosine distances between 0 and 2, got {list(radii)}")
    unit = unit_rows(np.asarray(embeddings, dtype=np.float32))
    mask = np.zeros(n, bool)
    mask[kept] = True
    labels = kmeans(unit, clusters, seed).labels
    sizes = np.bincount(labels)
    kept_counts = np.bincount(labels[mask], minlength=len(sizes))
    present = np.flatnonzero(sizes)
    distance = nearest_kept_distance(unit, np.flatnonzero(mask))
    within = [float((distance <= radius).mean()) for radius in radii]  # NaN (nothing kept) compares False
    return CoverageSummary(
        records=n, kept=int(mask.sum()), clusters=len(present),
        clusters_covered=int((kept_counts[present] > 0).sum()),
        cluster_coverage=float((kept_counts[present] > 0).mean()),
        radii=list(radii), within_radius=within, distance=_distance_summary(distance),
        per_cluster=[ClusterRetention(cluster=int(c), size=int(sizes[c]), kept=int(kept_counts[c]),
                                      retention=float(kept_counts[c] / sizes[c])) for c in present],
        projection=_projection(unit, mask, plot_points, seed),
    )
