"""`ws.datasets`: find, list and compare dataset versions, and start new ones."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from datatrainer.store.catalog import Catalog, VersionInfo
from datatrainer.store.encryption import DataKeys
from datatrainer.store.location import DataLocation
from datatrainer.store.versions import DatasetVersion
from datatrainer.store.writer import VERSIONS_DIR, VersionWriter


@dataclass(frozen=True)
class VersionDiff:
    """Which record ids one version added and removed relative to another."""

    old: str
    new: str
    added: list[str]
    removed: list[str]
    added_count: int
    removed_count: int
    kept_count: int


class DatasetCollection:
    def __init__(self, catalog: Catalog, data: DataLocation, tmp_dir: Path, code_version: str,
                 keys: DataKeys | None = None) -> None:
        self._catalog = catalog
        self._data = data
        self._tmp_dir = tmp_dir
        self._code_version = code_version
        self._keys = keys  # an encrypted workspace's key ring: versions are written and read with their keys

    def names(self) -> list[str]:
        return self._catalog.dataset_names()

    def versions(self, name: str) -> list[DatasetVersion]:
        return [self._wrap(info) for info in self._catalog.versions_of(name)]

    def get(self, ref: str | DatasetVersion) -> DatasetVersion:
        """A version by reference (`name`, `name@N`, `name@latest`), or the version itself."""
        if isinstance(ref, DatasetVersion):
            return ref
        return self._wrap(self._catalog.resolve(ref))

    def new_version(self) -> VersionWriter:
        return VersionWriter(self._catalog, self._data, self._tmp_dir, self._code_version, self._keys)

    def _wrap(self, info: VersionInfo) -> DatasetVersion:
        keys = self._keys
        crypto = keys.crypto(info.storage_key) if keys is not None and keys.encrypted else None
        return DatasetVersion(info, self._data, self._data.path(VERSIONS_DIR, info.storage_key), crypto)

    def diff(self, old: str | DatasetVersion, new: str | DatasetVersion, limit: int = 20) -> VersionDiff:
        """Compare ids with DuckDB anti-joins over the Parquet parts, so memory stays bounded."""
        old_version, new_version = self.get(old), self.get(new)
        con = duckdb.connect()
        try:
            con.execute(f"CREATE TEMP VIEW a AS SELECT id FROM {old_version.parquet_scan_sql(con)}")  # nosec B608  # our own scans of the versions' files and a fixed query
            con.execute(f"CREATE TEMP VIEW b AS SELECT id FROM {new_version.parquet_scan_sql(con)}")  # nosec B608  # our own scans of the versions' files and a fixed query

            def ids(query: str) -> tuple[list[str], int]:
                count = con.execute(f"SELECT count(*) FROM ({query})").fetchone()  # nosec B608  # our own scans of the versions' files and a fixed query
                sample = [row[0] for row in con.execute(f"{query} ORDER BY id LIMIT {int(limit)}").fetchall()]
                return sample, int(count[0]) if count else 0

            added, added_count = ids("SELECT id FROM b ANTI JOIN a USING (id)")
            removed, removed_count = ids("SELECT id FROM a ANTI JOIN b USING (id)")
            kept_row = con.execute("SELECT count(*) FROM b SEMI JOIN a USING (id)").fetchone()
        finally:
            con.close()
        return VersionDiff(
            old=old_version.ref,
            new=new_version.ref,
            added=added,
            removed=removed,
            added_count=added_count,
            removed_count=removed_count,
            kept_count=int(kept_row[0]) if kept_row else 0,
        )
