"""Atomic creation of a dataset version, on local disk or object storage.

Parts land in a staging location private to the new version: locally `tmp/<key>/`, renamed into
`versions/<key>/` on commit; on object storage (which has no rename) directly under `versions/<key>/`, where
nothing reads them until the catalog names the version. Either way the version becomes visible only in the
final catalog transaction, after every part is known to exist, so a crash at any point leaves either nothing
visible or the complete version. Leftovers are removed by `Workspace.collect_garbage`.

Parts can be written by the driver (`write_part`) or by workers anywhere (`sink()` hands out a picklable
`PartSink`; the driver `adopt`s the `PartMeta`s the workers return).

In an encrypted workspace the writer draws the version's data key when it starts: parts and artifacts are
written with Parquet modular encryption under it (the `PartSink` carries it to workers), and its wrapped form
is recorded in the same catalog transaction that publishes the version (see `store/encryption.py`).
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs as pafs
from sqlalchemy.orm import Session

from datatrainer.errors import DatatrainerError
from datatrainer.store.catalog import Catalog, VersionInfo
from datatrainer.store.encryption import VERSION_KEY, DataKeys, FileCrypto
from datatrainer.store.location import DataLocation, storage_error
from datatrainer.store.schema import CONTENT_HASH, ID, TEXT, unify

# Columns whose values are (nearly) unique: dictionary encoding only costs time there.
_HIGH_CARDINALITY = {ID, TEXT, CONTENT_HASH}
ROW_GROUP_SIZE = 65_536
ARTIFACTS_DIR = "artifacts"
VERSIONS_DIR = "versions"
PART_PREFIX = "part-"


def part_name(sequence: int) -> str:
    return f"{PART_PREFIX}{sequence:06d}.parquet"


def part_number(name: str) -> int | None:
    """The sequence number of a part file name, or None for anything else in a version folder."""
    base = name.rsplit("/", 1)[-1]
    if not (base.startswith(PART_PREFIX) and base.endswith(".parquet")):
        return None
    digits = base[len(PART_PREFIX):-len(".parquet")]
    return int(digits) if digits.isdigit() else None


def _fsync(path: str | Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class PartMeta:
    """What a written part tells the driver: small and picklable."""

    sequence: int
    rows: int
    schema: pa.Schema  # kept for empty parts too: their columns still belong in the version schema
    path: str | None  # None for an empty part (nothing written)


@dataclass(frozen=True)
class PartSink:
    """Writes parts of one new version into its staging folder, from any process (a Ray worker included).

    Holds no database handle: only the staging folder, the filesystem (None = local disk, where each part
    is fsynced before `write` returns) and, in an encrypted workspace, the version's data key.
    """

    folder: str
    filesystem: pafs.FileSystem | None = None
    crypto: FileCrypto | None = None

    def write(self, sequence: int, table: pa.Table) -> PartMeta:
        meta = self.write_unsynced(sequence, table)
        if meta.path is not None and self.filesystem is None:
            _fsync(meta.path)
        return meta

    def write_unsynced(self, sequence: int, table: pa.Table) -> PartMeta:
        """`write` without the local fsync, for a caller that syncs on its own thread."""
        if table.num_rows == 0:
            return PartMeta(sequence, 0, table.schema, None)
        path = f"{self.folder}/{part_name(sequence)}"
        dictionary_columns = [name for name in table.column_names if name not in _HIGH_CARDINALITY]
        _write_parquet(table, path, self.filesystem, self.crypto, use_dictionary=dictionary_columns,
                       write_statistics=[ID], row_group_size=ROW_GROUP_SIZE)
        return PartMeta(sequence, table.num_rows, table.schema, path)


def _write_parquet(table: pa.Table, path: str, filesystem: pafs.FileSystem | None, crypto: FileCrypto | None,
                   **options: Any) -> None:
    if crypto is not None:
        options["encryption_properties"] = crypto.encryption_properties()
    try:
        pq.write_table(table, path, filesystem=filesystem, compression="zstd", **options)
    except OSError as exc:
        if filesystem is None or isinstance(filesystem, pafs.LocalFileSystem):
            raise DatatrainerError(f"cannot write {path}: {exc.strerror or exc}") from exc
        raise storage_error(f"s3://{path}", exc) from None


class VersionWriter:
    """Collects Parquet parts for one new version; thread-safe, so parts can be written in parallel."""

    def __init__(self, catalog: Catalog, data: DataLocation, tmp_dir: Path, code_version: str,
                 keys: DataKeys | None = None) -> None:
        self._catalog = catalog
        self._data = data
        self._code_version = code_version
        self.storage_key = uuid.uuid4().hex
        crypto: FileCrypto | None = None
        self._keys, self._wrapped_key = keys, b""
        if keys is not None and keys.encrypted:
            crypto, self._wrapped_key = keys.new_key(self.storage_key, VERSION_KEY)
        if data.is_local:
            self.folder = str(tmp_dir / self.storage_key)
            os.makedirs(self.folder)
            self._sink = PartSink(self.folder, None, crypto)
        else:
            self.folder = data.path(VERSIONS_DIR, self.storage_key)
            self._sink = PartSink(self.folder, data.filesystem, crypto)
        self._lock = threading.Lock()
        self._schemas: dict[int, pa.Schema] = {}
        self._paths: dict[int, str] = {}
        self._rows = 0
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

    def sink(self) -> PartSink:
        """Where workers write this version's parts; hand their `PartMeta`s back to `adopt`."""
        return self._sink

    def adopt(self, metas: Iterable[PartMeta]) -> None:
        """Count parts written through `sink()` (by this process or any other) into the version."""
        with self._lock:
            for meta in metas:
                if meta.sequence in self._schemas:
                    raise DatatrainerError(f"part {meta.sequence} of the new version was written twice")
                self._schemas[meta.sequence] = meta.schema
                if meta.path is not None:
                    self._paths[meta.sequence] = meta.path
                    self._rows += meta.rows

    def write_part(self, sequence: int, table: pa.Table) -> None:
        """Write one part; `sequence` orders parts on read, so parts may finish out of order."""
        meta = self._sink.write_unsynced(sequence, table)
        self.adopt([meta])
        if meta.path is not None and self._data.is_local:
            with self._lock:
                self._syncs.append(self._syncer.submit(_fsync, meta.path))

    def write_artifact(self, name: str, table: pa.Table) -> None:
        """Store a side table with the version (e.g. `dropped`: removed ids and why; `clusters`).

        Artifacts are published atomically with the version and, like it, never change afterwards.
        """
        if not name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"invalid artifact name {name!r}")
        folder = f"{self.folder}/{ARTIFACTS_DIR}"
        if self._data.is_local:
            os.makedirs(folder, exist_ok=True)
        _write_parquet(table, f"{folder}/{name}.parquet", self._sink.filesystem, self._sink.crypto)

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
        """Publish the version: check its parts, move it into place (locally: fsync and rename), then
        record it in one catalog transaction (with `also_record`, see `Catalog.add_version`); if recording
        fails the version's files are removed again."""
        schema = self.schema(base_schema)
        self._wait_for_syncs()
        self._check_parts()
        if not self._paths:
            # An empty version still gets one (empty) part, so every reader sees the schema on disk too.
            _write_parquet(schema.empty_table(), f"{self.folder}/{part_name(0)}", self._sink.filesystem,
                           self._sink.crypto)
        final = self._publish_files()
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
                also_record=self._with_key(also_record),
            )
        except BaseException:
            self._remove(final)
            self._done = True
            raise
        self._done = True
        return info

    def _with_key(self, also_record: Callable[[Session, VersionInfo], None] | None
                  ) -> Callable[[Session, VersionInfo], None] | None:
        """`also_record`, then storing the version's wrapped data key when it is encrypted. In that order: the
        caller's audit entry takes the audit head before the key ring's row lock, as key rotation does, so the
        two can never deadlock."""
        keys, wrapped = self._keys, self._wrapped_key
        if keys is None or not wrapped:
            return also_record

        def record(session: Session, info: VersionInfo) -> None:
            if also_record is not None:
                also_record(session, info)
            keys.record(session, self.storage_key, VERSION_KEY, wrapped)

        return record

    def _check_parts(self) -> None:
        """Every adopted part must exist; part files nobody adopted (a retried worker's first attempt, a
        worker killed after writing) are removed, since readers take every `part-*` file in the folder."""
        present = {info.path: info for info in self._data.list(self.folder) if part_number(info.path) is not None}
        expected = set(self._paths.values())
        missing = sorted(expected - set(present))
        if missing:
            self.abort()
            raise DatatrainerError(f"part {self._data.uri(missing[0])} of the new version is missing "
                                   f"({len(missing)} missing); nothing was published")
        for path in set(present) - expected:
            self._data.delete(path)

    def _publish_files(self) -> str:
        if not self._data.is_local:
            return self.folder  # the catalog row is the publish: nothing reads an unnamed version
        _fsync(self.folder)
        versions_dir = Path(self._data.path(VERSIONS_DIR))
        final = str(versions_dir / self.storage_key)
        try:
            os.replace(self.folder, final)
            _fsync(versions_dir)
        except OSError as exc:
            self.abort()
            raise DatatrainerError(f"cannot publish version folder {final}: {exc.strerror or exc}") from exc
        return final

    def _remove(self, folder: str) -> None:
        if self._data.is_local:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            self._data.delete(folder)

    def _wait_for_syncs(self) -> None:
        self._syncer.shutdown(wait=True)
        for sync in self._syncs:
            try:
                sync.result()
            except OSError as exc:  # a full disk can first show at fsync
                raise DatatrainerError(f"cannot write {exc.filename}: {exc.strerror or exc}") from exc

    def abort(self) -> None:
        self._syncer.shutdown(wait=True, cancel_futures=True)
        self._remove(self.folder)
        self._done = True
