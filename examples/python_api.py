"""The Python API reads like the CLI: each command is one call on the workspace.

Ingest the bundled crawl, filter and deduplicate it, embed it, score its density, draw a density sample and
write the sample's quality report, all without a deep import; the CLI commands in the comments do the same.

    .venv/bin/python examples/python_api.py [WORKSPACE]
"""

from __future__ import annotations

from _common import bundled_crawl, workspace_folder

import datatrainer as dt

root = workspace_folder()
with dt.Workspace.init(root) as ws:
    crawl = ws.ingest(bundled_crawl(root / "inputs"), "crawl")        # datatrainer ingest crawl.jsonl -n crawl
    longer = ws.filter(crawl, "length(text) >= 200")                  # datatrainer filter crawl@1 --where ...
    unique = ws.dedup(longer, "minhash", threshold=0.8)               # datatrainer dedup crawl@2
    print(f"{crawl.ref}: {crawl.num_rows} records -> {longer.ref}: {longer.num_rows} of 200+ characters "
          f"-> {unique.ref}: {unique.num_rows} without near-duplicates")

    embedded = ws.embed(unique, backend="onnx")                       # datatrainer embed crawl@3 --backend onnx
    density = ws.score("density", unique, backend="onnx")             # datatrainer score density crawl@3
    print(f"embedded {embedded.computed} texts now; density config {density.config}")

    sample = ws.sample(unique, by="density", budget="50%", name="crawl-sample")  # datatrainer sample crawl@3 ...
    report = ws.quality_report(sample)                                # datatrainer quality report crawl-sample@1
    print(f"{sample.ref}: {sample.num_rows} records; quality report {report.html}")
