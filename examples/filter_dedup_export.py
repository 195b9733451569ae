"""Clean a bundled crawl: heuristic quality filters, near-duplicate removal, then export for training.

Each step writes a new version whose lineage records the operation and its parameters, and keeps every
removed record with the reason (`datatrainer datasets dropped VERSION` shows the same).

    .venv/bin/python examples/filter_dedup_export.py [WORKSPACE]
"""

from __future__ import annotations

from collections import Counter

import pyarrow.parquet as pq
from _common import bundled_crawl, workspace_folder

import datatrainer as dt

root = workspace_folder()
with dt.Workspace.init(root) as ws:
    crawl = ws.ingest(bundled_crawl(root / "inputs"), "crawl")
    filtered = ws.apply("quality-filter", [crawl], {"lang": "en"})            # Gopher, C4 and language rules
    deduped = ws.apply("dedup", [filtered], {"method": "minhash", "threshold": 0.8})

    for version in (filtered, deduped):
        dropped = version.artifact("dropped")
        reasons = Counter(reason.split(":")[0] for reason in dropped.column("reason").to_pylist())
        print(f"{version.ref} ({version.info.operation}): kept {version.num_rows}, dropped {dropped.num_rows} "
              f"{dict(reasons)}")

    diff = ws.datasets.diff(crawl, deduped)
    print(f"{crawl.ref} -> {deduped.ref}: removed {diff.removed_count}, kept {diff.kept_count}")
    chain, version = [deduped.ref], deduped
    while version.info.parents:                                 # walk the lineage back to the ingest
        version = ws.version(version.info.parents[0])
        chain.append(f"{version.ref} ({version.info.operation})")
    print("lineage: " + " <- ".join(chain))

    out = ws.export(deduped, root / "exports" / "crawl-clean", format="parquet", overwrite=True)
    table = pq.read_table(out / "data")
    print(f"exported {table.num_rows} records to {out} (dataset card: {out / 'README.md'})")
