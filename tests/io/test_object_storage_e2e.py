"""End to end on shared storage: crawl shards on a real S3-compatible server (moto), the data of the
workspace on the same server, the catalog on PostgreSQL; init and ingest through the real CLI, then filter
and export."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import zstandard
from pyarrow import fs as pafs

from datatrainer.store.location import filesystem_for
from datatrainer.workspace import Workspace


def _cli(*args: str | Path) -> str:
    env = {**os.environ, "COLUMNS": "200"}
    result = subprocess.run([sys.executable, "-m", "datatrainer", "--no-progress", *map(str, args)],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.slow
def test_ingest_filter_export_with_data_on_object_storage(tmp_path: Path, s3_bucket: str, pg_url: str) -> None:
    filesystem, _ = filesystem_for(f"s3://{s3_bucket}")
    records = [{"id": f"page-{i:04d}", "text": f"page {i} " + "lorem " * (i % 13), "n": i} for i in range(600)]
    for shard in range(4):
        body = b"".join(json.dumps(r).encode() + b"\n" for r in records[shard * 150:(shard + 1) * 150])
        blob = gzip.compress(body) if shard % 2 == 0 else zstandard.ZstdCompressor().compress(body)
        name = f"{s3_bucket}/crawl/2024/shard-{shard}.jsonl.{'gz' if shard % 2 == 0 else 'zst'}"
        with filesystem.open_output_stream(name, compression=None) as out:
            out.write(blob)
    ws = tmp_path / "ws"
    _cli("init", ws, "--data-url", f"s3://{s3_bucket}/team", "--db-url", pg_url)
    _cli("-w", ws, "ingest", f"s3://{s3_bucket}/crawl/*/shard-*.jsonl.*", "--name", "web")
    # The rest in-process (each CLI start costs seconds): the commands call exactly these.
    with Workspace.open(ws) as workspace:  # the data and catalog URLs come from the settings file
        assert workspace.data.url == f"s3://{s3_bucket}/team"
        kept = workspace.apply("filter", ["web@1"], {"where": "n % 3 = 0 AND length(text) > 20"}, name="kept")
        workspace.export(kept, tmp_path / "out", format="jsonl")
        leftovers = workspace.collect_garbage(min_age=0)
    exported = [json.loads(line) for line in (tmp_path / "out" / "data.jsonl").read_text().splitlines()]
    expected = [r for r in records if r["n"] % 3 == 0 and len(r["text"]) > 20]
    assert [(r["id"], r["text"], r["n"]) for r in exported] == [(r["id"], r["text"], r["n"]) for r in expected]
    # Every version's parts are on the object store, none on local disk; nothing was left unpublished.
    stored = filesystem.get_file_info(pafs.FileSelector(f"{s3_bucket}/team/versions", recursive=True))
    assert sum(1 for info in stored if info.base_name.startswith("part-")) >= 2
    assert not any((ws / "versions").iterdir())
    assert leftovers == []
