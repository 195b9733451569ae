"""Ingest a bundled crawl and write its quality report (HTML + JSON).

    .venv/bin/python examples/ingest_and_report.py [WORKSPACE]
"""

from __future__ import annotations

from _common import bundled_crawl, workspace_folder

import datatrainer as dt
from datatrainer.io.ingest import IngestOptions
from datatrainer.quality.report import build_report, default_paths, write_report

root = workspace_folder()
with dt.Workspace.init(root) as ws:
    crawl = ws.ingest(bundled_crawl(root / "inputs"), "crawl",
                      IngestOptions(source="demo-crawl", collected_at_field="collected_at"))
    print(f"ingested {crawl.ref}: {crawl.num_rows} records, columns {', '.join(crawl.schema.names)}")

    report = build_report(ws, crawl)            # measures the version and stores the result for trends
    html, json_path = default_paths(ws, crawl)
    write_report(report, html, json_path)
    for metric, value in report.summary.headline().items():
        print(f"{metric:<18} {'n/a' if value is None else f'{value:.3f}'}")
    print(f"report: {html} (and {json_path.name})")
