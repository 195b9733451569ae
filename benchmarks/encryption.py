"""Benchmark: what encryption at rest costs, plaintext workspace against encrypted workspace, same data.

Measured for each: writing a version (parts of 65,536 records through `VersionWriter`), streaming it back
(`read_batches`), a DuckDB aggregate over it (`parquet_scan_sql`: plaintext is read by DuckDB's own Parquet
reader, encrypted through a decrypting pyarrow dataset), the size on disk, and the catalog's sealed columns:
creating an annotation project (one task per record of a `--tasks` version, each holding its text) and
reading every task's text back. Also the one-off cost of
unlocking a passphrase workspace (scrypt, n=2^15, r=8, p=1). Each timing is the median of `--repeats` runs,
in CPU seconds of this process (all its threads): on a shared, busy machine wall-clock time mostly measures
the neighbours. The records are synthetic text of ~600 bytes with unique ids.

Usage: python benchmarks/encryption.py [--records 200000] [--tasks 20000] [--repeats 3] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from datatrainer.annotation.models import TaskRow
from datatrainer.annotation.types import local_admin
from datatrainer.security.keys import PassphraseProvider, new_provider
from datatrainer.workspace import Workspace

PART_ROWS = 65_536


def records(n: int) -> pa.Table:
    rng = np.random.default_rng(0)
    words = np.array(["the", "of", "data", "model", "record", "train", "text", "sample", "quality", "score",
                      "token", "corpus"])
    text = [" ".join(words[rng.integers(0, len(words), 90)]) for _ in range(n)]
    return pa.table({"id": [f"r{i:09d}" for i in range(n)], "text": text, "n": np.arange(n)})


def median_seconds(run: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.process_time()
        run()
        times.append(time.process_time() - start)
    return statistics.median(times)


def measure(ws: Workspace, table: pa.Table, tasks: int, repeats: int) -> dict[str, float]:
    def write() -> None:
        with ws.datasets.new_version() as writer:
            for sequence, offset in enumerate(range(0, table.num_rows, PART_ROWS)):
                writer.write_part(sequence, table.slice(offset, PART_ROWS))
            writer.commit(dataset="bench", operation="bench", params={})

    write_s = median_seconds(write, repeats)
    version = ws.version("bench")
    read_s = median_seconds(lambda: sum(batch.num_rows for batch in version.read_batches()), repeats)

    def query() -> None:
        con = duckdb.connect()
        con.execute("SET threads = 2")
        con.sql(f"SELECT count(*), sum(length(text)) FROM {version.parquet_scan_sql(con)}").fetchall()
        con.close()

    query_s = median_seconds(query, repeats)
    size = sum(os.path.getsize(path) for path in version.files)
    return {"write_s": write_s, "read_s": read_s, "duckdb_query_s": query_s, "bytes": size,
            **measure_catalog(ws, table.slice(0, tasks), repeats)}


def measure_catalog(ws: Workspace, table: pa.Table, repeats: int) -> dict[str, float]:
    """Annotation tasks carry their record's text: created (sealed when encrypted), then all read back."""
    with ws.datasets.new_version() as writer:
        writer.write_part(0, table)
        ref = writer.commit(dataset="tasks", operation="bench", params={}).ref
    projects = iter(range(repeats))
    create_s = median_seconds(lambda: ws.annotation.create_project(local_admin(), f"p{next(projects)}", ref,
                                                                   "classification", ["a", "b"]), repeats)

    def read() -> None:
        with Session(ws.catalog.engine) as session:
            assert len(session.scalars(select(TaskRow.payload)).all()) == table.num_rows * repeats

    return {"tasks_create_s": create_s, "tasks_read_s": median_seconds(read, repeats) / repeats}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    table = records(args.records)
    os.environ.setdefault("DATATRAINER_PASSPHRASE", "benchmark passphrase")
    results: dict[str, Any] = {"records": args.records, "raw_bytes": table.nbytes}
    with tempfile.TemporaryDirectory(prefix="dt-bench-enc-") as scratch:
        with Workspace.init(Path(scratch) / "plain") as plain:
            results["plain"] = measure(plain, table, args.tasks, args.repeats)
        with Workspace.init(Path(scratch) / "encrypted") as encrypted:
            encrypted.keys.setup(new_provider("passphrase"))
            results["encrypted"] = measure(encrypted, table, args.tasks, args.repeats)
    salt = os.urandom(16)
    results["unlock_s"] = median_seconds(lambda: PassphraseProvider("benchmark passphrase", salt), args.repeats)
    plain_r, enc_r = results["plain"], results["encrypted"]
    print(f"{args.records:,} records ({table.nbytes / 1e6:.0f} MB in Arrow), CPU seconds, median of {args.repeats}")
    print(f"{'':16}{'plaintext':>12}{'encrypted':>12}{'ratio':>8}")
    for key, label in [("write_s", "write (s)"), ("read_s", "read (s)"), ("duckdb_query_s", "DuckDB query (s)"),
                       ("bytes", "size (MB)"), ("tasks_create_s", f"{args.tasks:,} tasks (s)"),
                       ("tasks_read_s", "their texts (s)")]:
        scale = 1e6 if key == "bytes" else 1.0
        print(f"{label:16}{plain_r[key] / scale:12.3f}{enc_r[key] / scale:12.3f}{enc_r[key] / plain_r[key]:8.2f}")
    print(f"passphrase unlock (scrypt): {results['unlock_s'] * 1000:.0f} ms once per process")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
