"""Append-only folders of Parquet shards keyed by record content hash, and the DuckDB joins over them.

A cache folder (one scorer config, or one embedding model) grows one shard per finished batch of work. A
shard appears by atomic rename, so a run killed at any moment leaves only whole shards: re-running computes
exactly what is missing. Two runs racing on the same folder may both write a value for a hash; readers take
the one in the earliest shard, so the answer never depends on timing once both have finished.

In an encrypted workspace a folder has a data key (`crypto`): shards are written with Parquet encryption and
read back through pyarrow, then handed to DuckDB as Arrow (DuckDB cannot read pyarrow-encrypted files).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs as pafs

from datatrainer.store.encryption import FileCrypto
from datatrainer.store.location import DataLocation, storage_error
from datatrainer.store.schema import CONTENT_HASH, ID
from datatrainer.store.versions import DatasetVersion

POS = "pos"
_KEY_COLUMNS = [ID, CONTENT_HASH]


def connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET threads = 2")
    return con


def put_file(data: DataLocation, local: Path, target: str) -> None:
    """Move a finished local file to `target` in `data` atomically: fsync and rename on local disk, one
    upload (an object appears whole or not at all) on object storage."""
    if data.is_local:
        with open(local, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(local, target)
        return
    try:
        pafs.copy_files(str(local), target, source_filesystem=pafs.LocalFileSystem(),
                        destination_filesystem=data.filesystem)
    except OSError as exc:
        raise storage_error(data.uri(target), exc) from None


def version_keys(version: DatasetVersion) -> pa.Table:
    """(pos, id, content_hash) of every record, in stored order: what caches are joined against."""
    keys = version.to_table(_KEY_COLUMNS)
    return keys.add_column(0, POS, pa.array(range(keys.num_rows), pa.int64()))


def content_hash_array(values: pa.Array | pa.ChunkedArray | Sequence[str]) -> pa.Array:
    """Content hashes as one Arrow string array, whatever container the caller holds them in."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return values.cast(pa.string()) if isinstance(values, pa.Array) else pa.array(values, pa.string())


class ShardFolder:
    """One cache folder: Parquet shards (`content_hash` plus value columns), written whole or not at all.

    The folder lives in a `DataLocation`: local disk (each file written under `tmp_dir`, fsynced, renamed)
    or object storage (each file written under `tmp_dir`, then uploaded: an object appears whole or not).
    """

    def __init__(self, path: Path | str, tmp_dir: Path, data: DataLocation | None = None,
                 crypto: FileCrypto | None = None) -> None:
        self.data = data or DataLocation(str(path))
        self.path = str(path)
        self._tmp_dir = tmp_dir
        self.crypto = crypto

    def files(self) -> list[str]:
        """Shards in write order (names start with a nanosecond timestamp), as paths in `data.filesystem`."""
        return sorted(entry.path for entry in self.data.list(self.path)
                      if entry.is_file and entry.base_name.endswith(".parquet"))

    def publish(self, index: pa.Table, companions: Sequence[tuple[str, Callable[[Path], None]]] = ()) -> str:
        """Write companion files (e.g. `.npy` vectors) and then the Parquet index, each atomically.

        The index goes last: readers list only `*.parquet`, so a shard whose companion is still being written
        is invisible. Returns the shard's stem, shared by the index and its companions.
        """
        if self.data.is_local:
            os.makedirs(self.path, exist_ok=True)
        self._tmp_dir.mkdir(parents=True, exist_ok=True)
        stem = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
        for suffix, write in companions:
            self._atomic(stem + suffix, write)
        encryption = self.crypto.encryption_properties() if self.crypto is not None else None
        self._atomic(stem + ".parquet", lambda path: pq.write_table(index, path, compression="zstd",
                                                                     encryption_properties=encryption))
        return stem

    def _atomic(self, name: str, write: Callable[[Path], None]) -> None:
        tmp = self._tmp_dir / f"shard-{uuid.uuid4().hex}-{name}"
        try:
            write(tmp)
            put_file(self.data, tmp, f"{self.path}/{name}")
        finally:
            tmp.unlink(missing_ok=True)

    def scan_sql(self, columns: Sequence[str], empty_types: Sequence[str],
                 con: duckdb.DuckDBPyConnection | None = None) -> str:
        """A table expression with one row per cached content hash (the earliest shard's value wins).

        `filename` and `file_row_number` are available as columns so callers can find companion rows. An
        encrypted folder needs `con`: its shards are decrypted and registered on it.
        """
        files = [self.data.uri(path) for path in self.files()]
        if files and self.crypto is not None:
            if con is None:
                raise ValueError("scan_sql of an encrypted cache folder needs the DuckDB connection")
            name = f"dt_shards_{uuid.uuid5(uuid.NAMESPACE_URL, self.path).hex}"  # one per folder on `con`
            con.register(name, self._decrypted(files, [CONTENT_HASH, *columns]))
            selected = ", ".join([CONTENT_HASH, *columns, "filename", "file_row_number"])
            return f"(SELECT DISTINCT ON ({CONTENT_HASH}) {selected} FROM {name} ORDER BY {CONTENT_HASH}, filename)"  # nosec B608  # constant column names and escaped file paths
        if not files:
            typed = [f"NULL::{kind} AS {name}" for name, kind in zip(columns, empty_types, strict=True)]
            items = [f"NULL::VARCHAR AS {CONTENT_HASH}", *typed, "NULL::VARCHAR AS filename",
                     "NULL::BIGINT AS file_row_number"]
            return f"(SELECT {', '.join(items)} WHERE false)"
        paths = ", ".join("'" + path.replace("'", "''") + "'" for path in files)
        selected = ", ".join([CONTENT_HASH, *columns, "filename", "file_row_number"])
        return (f"(SELECT DISTINCT ON ({CONTENT_HASH}) {selected} FROM read_parquet([{paths}], filename = true, "  # nosec B608  # constant column names and escaped file paths
                f"file_row_number = true) ORDER BY {CONTENT_HASH}, filename)")

    def _decrypted(self, uris: Sequence[str], columns: Sequence[str]) -> pa.Table:
        """Every shard's columns with DuckDB's `filename` and `file_row_number`, decrypted through pyarrow."""
        assert self.crypto is not None
        decryption = self.crypto.decryption_properties()
        tables = []
        for uri, path in zip(uris, self.files(), strict=True):
            try:
                table = pq.read_table(path, columns=list(columns), filesystem=self.data.filesystem,
                                      decryption_properties=decryption)
            except OSError as exc:
                raise storage_error(uri, exc) from None
            rows = table.num_rows
            tables.append(table.append_column("filename", pa.array([uri] * rows, pa.string()))
                          .append_column("file_row_number", pa.array(range(rows), pa.int64())))
        return pa.concat_tables(tables)

    def missing(self, version: DatasetVersion) -> pa.Table:
        """(pos, content_hash) of the first record of each content hash with no cached value, by position."""
        con = connect()
        self.data.register(con)
        try:
            con.register("records", version_keys(version))
            return con.sql(
                f"SELECT min({POS}) AS {POS}, {CONTENT_HASH} FROM records ANTI JOIN {self.scan_sql([], [], con)} "  # nosec B608  # constant column names and escaped file paths
                f"USING ({CONTENT_HASH}) GROUP BY {CONTENT_HASH} ORDER BY {POS}"
            ).to_arrow_table()
        finally:
            con.close()

    def aligned(self, version: DatasetVersion, columns: Sequence[str], empty_types: Sequence[str]) -> pa.Table:
        """(pos, id, content_hash, *columns, filename, file_row_number) for every record, in record order;
        nulls where nothing is cached."""
        con = connect()
        self.data.register(con)
        try:
            con.register("records", version_keys(version))
            selected = ", ".join(f"c.{name}" for name in [*columns, "filename", "file_row_number"])
            return con.sql(
                f"SELECT r.{POS}, r.{ID}, r.{CONTENT_HASH}, {selected} FROM records r "  # nosec B608  # constant column names and escaped file paths
                f"LEFT JOIN {self.scan_sql(columns, empty_types, con)} c USING ({CONTENT_HASH}) ORDER BY r.{POS}"
            ).to_arrow_table()
        finally:
            con.close()

    def coverage(self, version: DatasetVersion) -> int:
        """How many of the version's records have a cached value."""
        con = connect()
        self.data.register(con)
        try:
            con.register("records", version_keys(version))
            rows = con.sql(f"SELECT count(*) FROM records SEMI JOIN {self.scan_sql([], [], con)} USING ({CONTENT_HASH})"  # nosec B608  # constant column names and escaped file paths
                           ).fetchall()
            return int(rows[0][0])
        finally:
            con.close()


def pending_records(version: DatasetVersion, missing: pa.Table, columns: Sequence[str],
                    batch_rows: int) -> Iterator[pa.Table]:
    """Stream the records at `missing[pos]` (from `ShardFolder.missing`), in batches of `batch_rows`.

    Work is done once per distinct content: the first record of each missing hash is read, with the asked
    columns, and nothing else; batches are cut at `batch_rows` so each becomes one cache shard.
    """
    positions = missing[POS].to_numpy()
    held: pa.Table | None = None
    offset = 0
    for batch in version.read_batches(columns):
        lo, hi = np.searchsorted(positions, [offset, offset + batch.num_rows])
        if hi > lo:
            taken = pa.Table.from_batches([batch]).take(pa.array(positions[lo:hi] - offset))
            held = taken if held is None else pa.concat_tables([held, taken])
        offset += batch.num_rows
        while held is not None and held.num_rows >= batch_rows:
            yield held.slice(0, batch_rows)
            held = held.slice(batch_rows)
    if held is not None and held.num_rows:
        yield held
