"""Embed bundled real sentences, score density with the RACE sketch, draw a density sample and measure its coverage.

The embeddings and scores are stored in the workspace by content hash, so running it again on the same
workspace computes nothing new. MiniLM runs as int8 ONNX here (it loads in a fraction of a second).

    .venv/bin/python examples/embed_density_sample.py [WORKSPACE]
"""

from __future__ import annotations

import numpy as np
from _common import bundled_sentences, workspace_folder

import datatrainer as dt
from datatrainer.sampling.coverage_report import build_coverage_report, default_paths, write_coverage_report
from datatrainer.scoring.jobs import ensure_embeddings, score_density
from datatrainer.scoring.race import RaceParams

root = workspace_folder()
with dt.Workspace.init(root) as ws:
    texts = ws.ingest(bundled_sentences(root / "inputs"), "reviews")      # 200 real review sentences

    embedding = ensure_embeddings(ws, texts, "minilm", "onnx")           # stored; a re-run embeds nothing
    ids, vectors = ws.embeddings.embeddings_for(texts, "minilm")
    print(f"embedded {len(ids)} records: {vectors.shape[1]}-d vectors")

    score_density(ws, texts, embedding, RaceParams())                    # the defaults: p-stable, R=256, p=7
    density = ws.scores.scores_for(texts, "density")["score"].to_numpy()
    print(f"density: min {density.min():.1f}, median {np.median(density):.1f}, max {density.max():.1f}")

    sample = ws.apply("sample", [texts], {"by": "density", "budget": "25%", "seed": 0}, name="reviews-sample")
    print(f"{sample.ref}: {sample.num_rows} of {texts.num_rows} records, drawn with probability ∝ 1 / density")

    coverage = build_coverage_report(ws, texts, sample)
    html, json_path = default_paths(ws, texts, sample)
    write_coverage_report(coverage, html, json_path)
    summary = coverage.summary
    print(f"coverage: {summary.clusters_covered}/{summary.clusters} k-means clusters keep a record; mean cosine "
          f"distance to the nearest kept record {summary.distance.mean:.3f}; report {html}")
