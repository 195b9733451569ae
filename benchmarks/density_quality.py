"""Measure how good density scores are on MiniLM embeddings of real text, and print README tables.

What is measured, and why (issue 5): the sketch must estimate its own kernel sum well (Spearman >= 0.9 with
default settings on 20k real embeddings, growing with the number of rows R), must rank like an exact
Gaussian kernel sum would, and its defaults must make near-duplicates and tight clusters denser than
isolated records (AUC on a planted corpus).

- Real: the ~21,000 paragraphs and sentences of `datatrainer.paragraphs` (Wikipedia, news, head500,
  reviews), embedded with all-MiniLM-L6-v2 (sentence-transformers backend) through the workspace's own
  embedding store, so re-runs reuse them (`--workspace`, default /tmp/datatrainer-density-quality).
- Exact kernel sums: `exact_kernel_sums` (float64, blocked) of the sketch's collision kernel in closed form,
  of the Laplace kernel that falls to 1/2 at the same distance, and of Gaussian kernels of several widths.
- Planted: `planted_real_corpus()`: one real text from each of ~900 source documents, 60 near-duplicate
  groups of 5, 12 template clusters of 10. AUC = P(a planted record scores above an isolated one), for the
  sketch (mean of 3 seeds) and for the exact kernel it estimates.

Usage: python benchmarks/density_quality.py [--workspace DIR] [--fixture tests/scoring/data/planted-minilm.npz]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import brentq
from scipy.stats import spearmanr

from datatrainer.evaluation.fixtures.planted import (
    CLUSTER,
    ISOLATED,
    NEAR_DUPLICATE,
    PlantedCorpus,
    auc,
    planted_real_corpus,
)
from datatrainer.models.embedders import Embedder, load_embedder
from datatrainer.paragraphs import real_texts
from datatrainer.scoring.density import density_scores
from datatrainer.scoring.jobs import embed_version
from datatrainer.scoring.kernels import collision_kernel, exact_kernel_sums, gaussian, laplace, pstable_collision
from datatrainer.scoring.race import RaceParams
from datatrainer.workspace import Workspace

Array = np.ndarray[Any, Any]
ROWS = (32, 64, 128, 256, 512, 1024, 2048)
SEEDS = (0, 1, 2)
GAUSSIAN_SIGMAS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.7)
GRID = [("pstable", r, p) for r in (0.5, 0.75, 1.0, 1.5) for p in (1, 2, 4, 6, 7, 8)] + \
       [("srp", 1.0, p) for p in (1, 8, 12, 16)]


def embed(ws: Workspace, embedder: Embedder, name: str, texts: list[str]) -> Array:
    """Embeddings of `texts` in order, computed once per distinct text across runs (the embedding store)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.jsonl"
        path.write_text("".join(json.dumps({"id": f"{name}-{i}", "text": text}) + "\n"
                                for i, text in enumerate(texts)))
        version = ws.ingest(path, name)
    embed_version(ws, version, embedder)
    return ws.embeddings.embeddings_for(version, embedder)[1]


def half_height_distance(params: RaceParams) -> float:
    """Where the collision kernel P(d)^p falls to 1/2: matched bandwidths make kernels comparable."""
    return float(brentq(lambda d: float(pstable_collision(np.array(d), params.bandwidth)) ** params.concat - 0.5,
                        1e-6, 10.0))


def spearman(a: Array, b: Array) -> float:
    return float(spearmanr(a, b)[0])


def rows_table(vectors: Array, exact: Array) -> list[str]:
    lines = ["| rows R | Spearman (mean of 3 seeds) | min..max | seconds (20k) |", "|---:|---:|---|---:|"]
    for rows in ROWS:
        values, seconds = [], []
        for seed in SEEDS:
            start = time.perf_counter()
            scores = density_scores(vectors, RaceParams(rows=rows, seed=seed))
            seconds.append(time.perf_counter() - start)
            values.append(spearman(scores, exact))
        default = " (default)" if rows == RaceParams().rows else ""
        lines.append(f"| {rows}{default} | {np.mean(values):.3f} | {min(values):.3f}..{max(values):.3f} | "
                     f"{np.mean(seconds):.2f} |")
    return lines


def kernels_table(vectors: Array, exact: Array) -> list[str]:
    """How the sketch ranks against exact Laplace and Gaussian kernel sums.

    Near 0 the collision probability is ~1 - 0.8 d / r, so P(d)^p ~ exp(-0.8 p d / r): a Laplace kernel. It is
    matched here by the distance where the kernels fall to 1/2; Gaussians are shown over a range of widths.
    """
    params = RaceParams()
    half = half_height_distance(params)
    sketch = density_scores(vectors, params)
    lines = [f"The defaults' collision kernel P(d)^{params.concat} falls to 1/2 at distance {half:.3f} (cosine "
             f"{1 - half**2 / 2:.3f}), as does a Laplace kernel of scale {half / np.log(2):.3f}.", "",
             "| kernel (exact sums) | Spearman with the sketch (defaults) | Spearman with exact collision sums |",
             "|---|---:|---:|",
             f"| collision P(d)^{params.concat}, r = {params.bandwidth} | {spearman(sketch, exact):.3f} | 1 |"]
    kernels = [(f"Laplace, scale {half / np.log(2):.3f}", laplace(half / np.log(2)))]
    kernels += [(f"Gaussian, sigma {sigma}", gaussian(sigma)) for sigma in GAUSSIAN_SIGMAS]
    for name, kernel in kernels:
        sums = exact_kernel_sums(vectors, kernel)
        lines.append(f"| {name} | {spearman(sketch, sums):.3f} | {spearman(exact, sums):.3f} |")
    return lines


def auc_table(vectors: Array, corpus: PlantedCorpus) -> list[str]:
    isolated = corpus.kind == ISOLATED

    def aucs(scores: Array) -> tuple[float, float, float]:
        return (auc(scores[~isolated], scores[isolated]),
                auc(scores[corpus.kind == NEAR_DUPLICATE], scores[isolated]),
                auc(scores[corpus.kind == CLUSTER], scores[isolated]))

    lines = ["| family | r | p | sketch AUC all | near-dups | clusters | exact-kernel AUC | cost R*p |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for family, bandwidth, concat in GRID:
        params = RaceParams(family=family, bandwidth=bandwidth, concat=concat)
        sketch = np.mean([aucs(density_scores(vectors, params.model_copy(update={"seed": s}))) for s in SEEDS], 0)
        exact = aucs(exact_kernel_sums(vectors, collision_kernel(params)))[0]
        shown_r = f"{bandwidth}" if family == "pstable" else "-"
        default = " **default**" if params == RaceParams() else ""
        lines.append(f"| {family}{default} | {shown_r} | {concat} | {sketch[0]:.3f} | {sketch[1]:.3f} | "
                     f"{sketch[2]:.3f} | {exact:.3f} | {params.rows * concat:,} |")
    for sigma in GAUSSIAN_SIGMAS:  # what exact sums of a Gaussian kernel would give (no sketch: O(N^2))
        exact = aucs(exact_kernel_sums(vectors, gaussian(sigma)))
        lines.append(f"| exact Gaussian, sigma {sigma} | - | - | - | - | - | {exact[0]:.3f} | - |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", type=Path, default=Path("/tmp/datatrainer-density-quality"))
    parser.add_argument("--fixture", type=Path, help="also write the planted corpus' embeddings (float16) here")
    args = parser.parse_args()
    embedder = load_embedder("minilm", "st")
    with Workspace.init(args.workspace) as ws:
        corpus = planted_real_corpus()
        planted = embed(ws, embedder, "planted", corpus.texts)
        if args.fixture:
            args.fixture.parent.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(args.fixture, embeddings=planted.astype(np.float16), kind=corpus.kind,
                                group=corpus.group)
        print(f"## Planted corpus: {int((corpus.kind == ISOLATED).sum())} isolated real texts, "
              f"{int((corpus.kind != ISOLATED).sum())} planted; R = {RaceParams().rows}\n")
        print("\n".join(auc_table(planted, corpus)), flush=True)
        real = embed(ws, embedder, "real", real_texts())
    start = time.perf_counter()
    exact = exact_kernel_sums(real, collision_kernel(RaceParams()))
    print(f"\n## Real: {len(real):,} MiniLM embeddings; exact collision-kernel sums in "
          f"{time.perf_counter() - start:.0f} s\n")
    print("\n".join(rows_table(real, exact)), flush=True)
    print()
    print("\n".join(kernels_table(real, exact)))


if __name__ == "__main__":
    main()
