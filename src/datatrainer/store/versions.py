"""`DatasetVersion`: read access to one immutable version's records as Arrow data, wherever they are stored.

An encrypted version carries its unwrapped data key (`crypto`); every read decrypts through pyarrow, and
DuckDB scans get the parts as an Arrow dataset, since DuckDB cannot read pyarrow-encrypted files.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cached_property
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs as pafs

from datatrainer.errors import DatatrainerError, NotFoundError
from datatrainer.store.catalog import VersionInfo
from datatrainer.store.encryption import FileCrypto, arrow_dataset
from datatrainer.store.location import DataLocation, storage_error
from datatrainer.store.schema import conform_batch
from datatrainer.store.writer import ARTIFACTS_DIR, part_number

if TYPE_CHECKING:
    import duckdb


class DatasetVersion:
    """An immutable dataset version: its catalog entry plus its Parquet parts (local disk or object storage).

    Parts may have been written with narrower schemas than the version's (a column that was all null in an
    early chunk); every batch read is conformed to the version schema, so callers see one schema.
    """

    def __init__(self, info: VersionInfo, data: DataLocation, folder: str, crypto: FileCrypto | None = None) -> None:
        self.info = info
        self.data = data
        self.folder = folder  # a path inside `data.filesystem`
        self.crypto = crypto  # the version's data key when it is encrypted (picklable, for workers)

    def __repr__(self) -> str:
        return f"DatasetVersion({self.ref!r}, rows={self.num_rows})"

    @property
    def ref(self) -> str:
        return self.info.ref

    @property
    def num_rows(self) -> int:
        return self.info.row_count

    @property
    def schema(self) -> pa.Schema:
        return self.info.schema

    @cached_property
    def files(self) -> list[str]:
        """Parts in write order (by number: names are zero-padded but may outgrow the padding), as paths in
        `data.filesystem` (OS paths for a local workspace)."""
        entries = self.data.list(self.folder)
        numbered = [(part_number(entry.path), entry.path) for entry in entries if entry.is_file]
        return [path for number, path in sorted((n, p) for n, p in numbered if n is not None)]

    def open_part(self, index: int) -> pq.ParquetFile:
        """One stored part, opened for reading (its footer says its row groups and statistics)."""
        path = self.files[index]
        decryption = self.crypto.decryption_properties() if self.crypto is not None else None
        try:
            if self.data.is_local:
                return pq.ParquetFile(path, decryption_properties=decryption)
            return pq.ParquetFile(path, filesystem=self.data.filesystem, pre_buffer=True,
                                  decryption_properties=decryption)
        except OSError as exc:
            raise _read_error(self.data.uri(path), exc) from None

    def read_batches(
        self, columns: Sequence[str] | None = None, batch_size: int = 65_536
    ) -> Iterator[pa.RecordBatch]:
        """Stream the records in stored order, a bounded number of rows at a time."""
        for index in range(len(self.files)):
            yield from self.read_part_batches(index, columns, batch_size)

    def read_part_batches(
        self, index: int, columns: Sequence[str] | None = None, batch_size: int = 65_536,
        row_groups: Sequence[int] | None = None,
    ) -> Iterator[pa.RecordBatch]:
        """Stream one stored part (or some of its row groups: units of work for an engine), conformed to the
        version schema."""
        target = self._target(columns)
        part = self.open_part(index)
        present = [name for name in target.names if name in part.schema_arrow.names]
        for batch in part.iter_batches(batch_size=batch_size, columns=present, row_groups=row_groups):
            yield conform_batch(batch, target)

    def _target(self, columns: Sequence[str] | None) -> pa.Schema:
        return self.schema if columns is None else pa.schema([self.schema.field(c) for c in columns])

    def to_table(self, columns: Sequence[str] | None = None) -> pa.Table:
        """The whole version in memory; for small versions and tests."""
        return pa.Table.from_batches(list(self.read_batches(columns)), schema=self._target(columns))

    def head(self, n: int = 10, columns: Sequence[str] | None = None) -> pa.Table:
        batches: list[pa.RecordBatch] = []
        remaining = n
        for batch in self.read_batches(columns, batch_size=max(1, min(n, 65_536))):
            if remaining <= 0:
                break
            batches.append(batch.slice(0, remaining))
            remaining -= batches[-1].num_rows
        return pa.Table.from_batches(batches, schema=self._target(columns))

    def artifact_names(self) -> list[str]:
        """Side tables its operation stored with this version (e.g. `dropped`, `clusters`)."""
        entries = self.data.list(f"{self.folder}/{ARTIFACTS_DIR}")
        return sorted(entry.base_name[:-len(".parquet")] for entry in entries
                      if entry.is_file and entry.base_name.endswith(".parquet"))

    def artifact(self, name: str) -> pa.Table:
        path = f"{self.folder}/{ARTIFACTS_DIR}/{name}.parquet"
        try:
            found = self.data.filesystem.get_file_info(path).type == pafs.FileType.File
        except OSError as exc:
            raise storage_error(self.data.uri(path), exc) from None
        if not found:
            known = ", ".join(self.artifact_names()) or "none"
            raise NotFoundError(f"{self.ref} has no artifact {name!r} (available: {known})")
        decryption = self.crypto.decryption_properties() if self.crypto is not None else None
        try:
            return pq.read_table(path, filesystem=self.data.filesystem, decryption_properties=decryption)
        except OSError as exc:
            raise _read_error(self.data.uri(path), exc) from None

    def parquet_scan_sql(self, con: duckdb.DuckDBPyConnection | None = None) -> str:
        """A DuckDB table expression over this version's parts (union by name covers narrower parts).

        On object storage, and for an encrypted version, pass the connection that will run the query: the
        version's filesystem (or its parts, decrypted by pyarrow, as an Arrow dataset) is registered on it.
        """
        if self.crypto is not None:
            if con is None:
                raise ValueError("parquet_scan_sql of an encrypted version needs the DuckDB connection")
            name = f"dt_version_{self.info.storage_key}"
            con.register(name, arrow_dataset(self.files, self.data.filesystem, self.crypto, self.schema))
            return name
        if con is not None:
            self.data.register(con)
        elif not self.data.is_local:
            raise ValueError("parquet_scan_sql of a version on object storage needs the DuckDB connection")
        paths = ", ".join("'" + self.data.uri(path).replace("'", "''") + "'" for path in self.files)
        return f"read_parquet([{paths}], union_by_name = true)"


def _read_error(uri: str, exc: OSError) -> DatatrainerError:
    """An unreadable part; an encrypted one read without its key says so instead of pyarrow's wording."""
    if "encrypted" in str(exc).lower():
        return DatatrainerError(f"{uri} is encrypted and this workspace has no data key for it")
    return storage_error(uri, exc)
