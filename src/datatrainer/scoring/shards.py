"""Append-only folders of Parquet shards keyed by record content hash, and the DuckDB joins over them.

A cache folder (one scorer config, or one embedding model) grows one shard per finished batch of work. A
shard appears by atomic rename, so a run killed at any moment leaves only whole shards: re-running computes
exactly what is missing. Two runs racing on the same folder may both write a value for a hash; readers take
the one in the earliest shard, so the answer never depends on timing once both have finished.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from datatrainer.store.schema import CONTENT_HASH, ID
from datatrainer.store.versions import DatasetVersion

POS = "pos"
_KEY_COLUMNS = [ID, CONTENT_HASH]


def connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET threads = 2")
    return con


def version_keys(version: DatasetVersion) -> pa.Table:
    """(pos, id, content_hash) of every record, in stored order: what caches are joined against."""
    keys = version.to_table(_KEY_COLUMNS)
    return keys.add_column(0, POS, pa.array(range(keys.num_rows), pa.int64()))


class ShardFolder:
    """One cache folder: Parquet shards (`content_hash` plus value columns), written whole or not at all."""

    def __init__(self, path: Path, tmp_dir: Path) -> None:
        self.path = path
        self._tmp_dir = tmp_dir

    def files(self) -> list[Path]:
        """Shards in write order (names start with a nanosecond timestamp)."""
        return sorted(self.path.glob("*.parquet")) if self.path.is_dir() else []

    def publish(self, index: pa.Table, companions: Sequence[tuple[str, Callable[[Path], None]]] = ()) -> str:
        """Write companion files (e.g. `.npy` vectors) and then the Parquet index, each by tmp + rename.

        The index goes last: readers list only `*.parquet`, so a shard whose companion is still being written
        is invisible. Returns the shard's stem, shared by the index and its companions.
        """
        self.path.mkdir(parents=True, exist_ok=True)
        self._tmp_dir.mkdir(parents=True, exist_ok=True)
        stem = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
        for suffix, write in companions:
            self._atomic(stem + suffix, write)
        self._atomic(stem + ".parquet", lambda path: pq.write_table(index, path, compression="zstd"))
        return stem

    def _atomic(self, name: str, write: Callable[[Path], None]) -> None:
        tmp = self._tmp_dir / f"shard-{uuid.uuid4().hex}-{name}"
        try:
            write(tmp)
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, self.path / name)
        finally:
            tmp.unlink(missing_ok=True)

    def scan_sql(self, columns: Sequence[str], empty_types: Sequence[str]) -> str:
        """A table expression with one row per cached content hash (the earliest shard's value wins).

        `filename` and `file_row_number` are available as columns so callers can find companion rows.
        """
        files = self.files()
        if not files:
            typed = [f"NULL::{kind} AS {name}" for name, kind in zip(columns, empty_types, strict=True)]
            items = [f"NULL::VARCHAR AS {CONTENT_HASH}", *typed, "NULL::VARCHAR AS filename",
                     "NULL::BIGINT AS file_row_number"]
            return f"(SELECT {', '.join(items)} WHERE false)"
        paths = ", ".join("'" + str(path).replace("'", "''") + "'" for path in files)
        selected = ", ".join([CONTENT_HASH, *columns, "filename", "file_row_number"])
        return (f"(SELECT DISTINCT ON ({CONTENT_HASH}) {selected} FROM read_parquet([{paths}], filename = true, "
                f"file_row_number = true) ORDER BY {CONTENT_HASH}, filename)")

    def missing(self, version: DatasetVersion) -> pa.Array:
        """Distinct content hashes of the version with no cached value yet, in first-occurrence order."""
        con = connect()
        try:
            con.register("records", version_keys(version))
            return con.sql(
                f"SELECT {CONTENT_HASH} FROM records ANTI JOIN {self.scan_sql([], [])} USING ({CONTENT_HASH}) "
                f"GROUP BY {CONTENT_HASH} ORDER BY min({POS})"
            ).to_arrow_table()[CONTENT_HASH].combine_chunks()
        finally:
            con.close()

    def aligned(self, version: DatasetVersion, columns: Sequence[str], empty_types: Sequence[str]) -> pa.Table:
        """(pos, id, content_hash, *columns, filename, file_row_number) for every record, in record order;
        nulls where nothing is cached."""
        con = connect()
        try:
            con.register("records", version_keys(version))
            selected = ", ".join(f"c.{name}" for name in [*columns, "filename", "file_row_number"])
            return con.sql(
                f"SELECT r.{POS}, r.{ID}, r.{CONTENT_HASH}, {selected} FROM records r "
                f"LEFT JOIN {self.scan_sql(columns, empty_types)} c USING ({CONTENT_HASH}) ORDER BY r.{POS}"
            ).to_arrow_table()
        finally:
            con.close()

    def coverage(self, version: DatasetVersion) -> int:
        """How many of the version's records have a cached value."""
        con = connect()
        try:
            con.register("records", version_keys(version))
            rows = con.sql(f"SELECT count(*) FROM records SEMI JOIN {self.scan_sql([], [])} USING ({CONTENT_HASH})"
                           ).fetchall()
            return int(rows[0][0])
        finally:
            con.close()
