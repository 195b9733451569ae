"""The dataset card lists, for every version of the lineage, its records per source and per license."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from datatrainer.io.ingest import IngestOptions
from datatrainer.workspace import Workspace


def test_card_lists_sources_and_licenses_of_every_version(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    ws = sqlite_workspace
    rows = [{"id": f"r{i}", "text": f"record number {i}" + " long" * (i % 3)} for i in range(9)]
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    v1 = ws.ingest(path, "docs", IngestOptions(source="web", license="cc-by-4.0"))
    v2 = ws.apply("filter", [v1.ref], {"where": "length(text) > 16"}, name="long")
    card = (ws.export(v2, tmp_path / "out", "parquet") / "README.md").read_text()
    section = card.split("## Sources and licenses", 1)[1]
    for version in (v1, v2):
        table = version.to_table()
        sources = Counter(table.column("source").to_pylist())
        line = next(line for line in section.splitlines() if line.startswith(f"| `{version.ref}`"))
        licenses = Counter(table.column("license").to_pylist())
        assert line == f"| `{version.ref}` | web ({sources['web']:,}) | cc-by-4.0 ({licenses['cc-by-4.0']:,}) |"
    assert v2.num_rows < v1.num_rows
