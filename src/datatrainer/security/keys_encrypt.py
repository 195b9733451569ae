"""`datatrainer encrypt`: switch an existing workspace to encryption at rest and rewrite what it stored.

Every version part and artifact, and every score and embedding shard, is rewritten under its data key, one
file at a time: the encrypted copy is written beside the original and renamed over it (one upload on object
storage), so each file is at every moment either the old plaintext or the whole encrypted file. Readers
decrypt with the version's key and read plaintext files with the same settings, so the workspace stays
usable throughout. Files already encrypted are skipped, so an interrupted run resumes where it stopped, and
a second run checks that nothing was left behind. Row groups are kept as they were (engines split work by
them) and the records come back identical. The record texts the catalog keeps (annotation tasks and results,
reviews, audit payloads) are sealed in place, in one transaction (`keys_columns.seal_catalog`), and the
database is vacuumed so their plaintext pages go too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.parquet as pq

from datatrainer.progress import progress_bar
from datatrainer.scoring.shards import put_file
from datatrainer.security.keys import KeyProvider
from datatrainer.security.keys_columns import CATALOG_KEY, seal_catalog
from datatrainer.store.encryption import (
    SEALED_MAGIC,
    STORE_KEY,
    VERSION_KEY,
    FileCrypto,
    is_encrypted_parquet,
)
from datatrainer.store.location import storage_error
from datatrainer.store.writer import VERSIONS_DIR

if TYPE_CHECKING:
    from datatrainer.workspace import Workspace

STORE_FOLDERS = ("scores", "embeddings")
_TMP_PREFIX = ".encrypting-"


@dataclass(frozen=True)
class EncryptReport:
    switched_on: bool  # False when the workspace already was encrypted (a resumed or repeated run)
    versions: int
    files_rewritten: int
    files_already_encrypted: int
    catalog_values: int = 0  # catalog values (annotation texts, audit payloads) sealed by this run


def encrypt_workspace(ws: Workspace, provider: KeyProvider | None, actor: str, show: bool = False) -> EncryptReport:
    """Encrypt the workspace with `provider`'s master key (ignored when it is already encrypted) and rewrite
    every plaintext file; resumable, and audited when it finishes."""
    switched_on = provider is not None and ws.keys.setup(provider)
    ws.keys.provider()  # unlock (and check) before any file is touched
    work = list(_work(ws))
    rewritten = 0
    with progress_bar("encrypt", len(work), show, unit="files") as advance:
        for path, crypto in work:
            rewritten += _encrypt_file(ws, path, crypto)
            advance(1)
    versions = sum(len(ws.catalog.versions_of(name)) for name in ws.datasets.names())
    ws.keys.ensure(CATALOG_KEY, CATALOG_KEY)  # missing in workspaces encrypted before catalog texts were
    with ws.audit.transaction() as session:
        sealed = seal_catalog(session)
        report = EncryptReport(switched_on, versions, rewritten, len(work) - rewritten, sealed)
        ws.audit.append(session, actor=actor, action="workspace.encrypt", entity="workspace_keys", entity_id=1,
                        after={"versions": report.versions, "files_rewritten": rewritten,
                               "files_already_encrypted": report.files_already_encrypted,
                               "catalog_values_sealed": sealed})
    if sealed:
        from datatrainer.compliance.erasure import vacuum  # erasure's, which imports much more

        vacuum(ws)  # the plaintext values' old pages and WAL frames go too
    return report


def _work(ws: Workspace) -> Iterator[tuple[str, FileCrypto]]:
    """(file, data key) for every stored file that must be encrypted, creating missing data keys."""
    data = ws.data
    for name in ws.datasets.names():
        for info in ws.catalog.versions_of(name):
            crypto = ws.keys.ensure(info.storage_key, VERSION_KEY)
            for entry in data.list(data.path(VERSIONS_DIR, info.storage_key), recursive=True):
                if entry.is_file and entry.base_name.startswith(_TMP_PREFIX):
                    data.delete(entry.path)  # an interrupted run's half-written copy
                elif entry.is_file:
                    yield entry.path, crypto
    for top in STORE_FOLDERS:
        root = data.path(top)
        depth = len(root.rstrip("/").split("/"))
        for entry in data.list(root, recursive=True):
            parts = entry.path.split("/")[depth:]
            if (entry.is_file and len(parts) == 3 and entry.base_name.endswith((".parquet", ".npy"))
                    and not entry.base_name.startswith(_TMP_PREFIX)):
                yield entry.path, ws.keys.ensure(f"{top}/{parts[0]}/{parts[1]}", STORE_KEY)


def _encrypt_file(ws: Workspace, path: str, crypto: FileCrypto) -> int:
    """Replace one file by its encrypted form; 0 when it already was encrypted."""
    data = ws.data
    raw = b""
    if path.endswith(".parquet"):
        if is_encrypted_parquet(data.filesystem, path):
            return 0
    else:
        with data.filesystem.open_input_stream(path, compression=None) as handle:
            raw = handle.read()
        if raw.startswith(SEALED_MAGIC):
            return 0
    folder, base = path.rsplit("/", 1)
    # Locally beside the original, so the rename is atomic; for object storage anywhere local, then uploaded.
    tmp = Path(folder if data.is_local else ws.root / "tmp") / f"{_TMP_PREFIX}{uuid.uuid4().hex[:8]}-{base}"
    try:
        if raw:
            tmp.write_bytes(crypto.seal(raw))
        else:
            _rewrite_parquet(ws, path, tmp, crypto)
        put_file(data, tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return 1


def _rewrite_parquet(ws: Workspace, path: str, tmp: Path, crypto: FileCrypto) -> None:
    """The file's row groups, one at a time and unchanged in size, written encrypted to `tmp`."""
    try:
        source = pq.ParquetFile(path, filesystem=ws.data.filesystem)
    except OSError as exc:
        raise storage_error(ws.data.uri(path), exc) from None
    with pq.ParquetWriter(tmp, source.schema_arrow, compression="zstd",
                          encryption_properties=crypto.encryption_properties()) as writer:
        for group in range(source.metadata.num_row_groups):
            writer.write_table(source.read_row_group(group))
