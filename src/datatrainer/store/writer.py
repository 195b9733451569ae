"""Atomic creation of a dataset version.

Parts are written into a private temporary folder; on commit the folder is fsynced and renamed into
`versions/`, then the version is recorded in the catalog in one transaction. A crash at any point leaves
either nothing visible or the complete version: leftovers in `tmp/` and unreferenced folders in
`versions/` are invisible and removed by `Workspace.collect_garbage`.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from datatrainer.errors import DatatrainerError
from datatrainer.store.catalog import Catalog, VersionInfo
from datatrainer.store.schema import CONTENT_HASH, ID, TEXT, unify

# Columns whose values are (nearly) unique: dictionary encoding only costs time there.
_HIGH_CARDINALITY = {ID, TEXT, CONTENT_HASH}
ROW_GROUP_SIZE = 65_536
ARTIFACTS_DIR = "artifacts"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class VersionWriter:
    """Collects Parquet parts for one new version; thread-safe, so parts can be written in parallel."""

    def __init__(self, catalog: Catalog, versions_dir: Path, tmp_dir: Path, code_version: str) -> None:
        self._catalog = catalog
        self._versions_dir = versions_dir
        self._code_version = code_version
        self.storage_key = uuid.uuid4().hex
        self.folder = tmp_dir / self.storage_key
        self.folder.mkdir(parents=True)
        self._lock = threading.Lock()
        self._schemas: dict[int, pa.Schema] = {}
        self._rows = 0
        self._parts = 0
        self._done = False
        # Parts are fsynced on their own thread: waiting for the disk there overlaps the CPU work of the next
        # parts, instead of stalling a worker. `commit` waits for every sync before publishing.
        self._syncer = ThreadPoolExecutor(1, thread_name_prefix="fsync")
        self._syncs: list[Future[None]] = []

    def __enter__(self) -> VersionWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self._done:
            self.abort()

    def write_part(self, sequence: int, table: pa.Table) -> None:
        """Write one part; `sequence` orders parts on read, so parts may finish out of order."""
        if table.num_rows == 0:
            with self._lock:
                self._schemas[sequence] = table.schema  # its columns still belong in the version schema
            return
        path = self.folder / f"part-{sequence:06d}.parquet"
        dictionary_columns = [name for name in table.column_names if name not in _HIGH_CARDINALITY]
        try:
            pq.write_table(
                table,
                path,
                compression="zstd",
                use_dictionary=dictionary_columns,
                write_statistics=[ID],
                row_group_size=ROW_GROUP_SIZE,
            )
        except OSError as exc:
            raise DatatrainerError(f"cannot write {path}: {exc.strerror or exc}") from exc
        with self._lock:
            self._syncs.append(self._syncer.submit(_fsync, path))
            self._schemas[sequence] = table.schema
            self._rows += table.num_rows
            self._parts += 1

    def write_artifact(self, name: str, table: pa.Table) -> None:
        """Store a side table with the version (e.g. `dropped`: removed ids and why; `clusters`).

        Artifacts are published atomically with the version and, like it, never change afterwards.
        """
        if not name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"invalid artifact name {name!r}")
        folder = self.folder / ARTIFACTS_DIR
        folder.mkdir(exist_ok=True)
        try:
            pq.write_table(table, folder / f"{name}.parquet", compression="zstd")
        except OSError as exc:
            raise DatatrainerError(f"cannot write artifact {name!r}: {exc.strerror or exc}") from exc

    @property
    def row_count(self) -> int:
        return self._rows

    def schema(self, base: pa.Schema | None = None) -> pa.Schema:
        schemas = [self._schemas[key] for key in sorted(self._schemas)]
        if base is not None:
            schemas.insert(0, base)
        if not schemas:
            raise DatatrainerError("nothing to write: the new version would have no schema")
        return unify(schemas, "new version")

    def commit(
        self,
        *,
        dataset: str,
        operation: str,
        params: dict[str, Any],
        parents: Sequence[VersionInfo] = (),
        stats: dict[str, Any] | None = None,
        base_schema: pa.Schema | None = None,
        also_record: Callable[[Session, VersionInfo], None] | None = None,
    ) -> VersionInfo:
        """Publish the version: rename the folder into place, then record it in one catalog transaction (with
        `also_record`, see `Catalog.add_version`); if recording fails the folder is removed again."""
        schema = self.schema(base_schema)
        self._wait_for_syncs()
        if self._parts == 0:
            # An empty version still gets one (empty) part, so every reader sees the schema on disk too.
            pq.write_table(schema.empty_table(), self.folder / "part-000000.parquet", compression="zstd")
        _fsync(self.folder)
        final = self._versions_dir / self.storage_key
        try:
            os.replace(self.folder, final)
            _fsync(self._versions_dir)
        except OSError as exc:
            self.abort()
            raise DatatrainerError(f"cannot publish version folder {final}: {exc.strerror or exc}") from exc
        try:
            info = self._catalog.add_version(
                dataset=dataset,
                storage_key=self.storage_key,
                operation=operation,
                params=params,
                code_version=self._code_version,
                row_count=self._rows,
                schema=schema,
                stats=stats or {},
                parents=parents,
                also_record=also_record,
            )
        except BaseException:
            shutil.rmtree(final, ignore_errors=True)
            self._done = True
            raise
        self._done = True
        return info

    def _wait_for_syncs(self) -> None:
        self._syncer.shutdown(wait=True)
        for sync in self._syncs:
            try:
                sync.result()
            except OSError as exc:  # a full disk can first show at fsync
                raise DatatrainerError(f"cannot write {exc.filename}: {exc.strerror or exc}") from exc

    def abort(self) -> None:
        self._syncer.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.folder, ignore_errors=True)
        self._done = True
