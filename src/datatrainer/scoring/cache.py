"""`ContentStore`: the one base of the score and embedding stores, values cached by record content.

Layout: `<root>/<name>/<config hash>/` holding `config.json` (what the hash means) and the Parquet shards of
`ShardFolder`, under the workspace's data location (local disk, or object storage shared by a cluster).
`ScoreStore` and `EmbeddingStore` differ only in what a shard carries (a score column; an index beside a
`.npy` matrix) and in how values are read back; finding what is missing, streaming it, registering a
config, listing configs and coverage, and choosing among configs live here once.

In an encrypted workspace each (name, config hash) folder has its own data key in the key ring, created
with its first shard: index shards are Parquet-encrypted and companion files (embedding matrices) sealed.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from pyarrow import fs as pafs

from datatrainer.errors import DatatrainerError, NotFoundError
from datatrainer.scoring.configs import (
    CONFIG_FILE,
    SECONDARY,
    StoredConfig,
    config_bytes,
    new_config,
    parse_config,
    read_config,
    write_config_once,
)
from datatrainer.scoring.shards import ShardFolder, pending_records, put_file
from datatrainer.store.encryption import STORE_KEY, DataKeys, FileCrypto
from datatrainer.store.location import DataLocation, storage_error
from datatrainer.store.schema import CONTENT_HASH, TEXT
from datatrainer.store.versions import DatasetVersion

if TYPE_CHECKING:
    from datatrainer.workspace import Workspace

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_HASH_RE = re.compile(r"^[0-9a-f]{1,64}$")


@dataclass(frozen=True)
class Computed:
    """One config's cached values as seen from one version: how many of its records are covered."""

    config: StoredConfig
    covered: int
    records: int

    @property
    def complete(self) -> bool:
        return self.covered == self.records


class CacheRoot:
    """The folders of one kind of cached value, one per (name, config hash)."""

    def __init__(self, root: Path | str, tmp_dir: Path, data: DataLocation | None = None,
                 keys: DataKeys | None = None, key_prefix: str = "") -> None:
        self.data = data or DataLocation(str(root))
        self.root = str(root)
        self._tmp_dir = tmp_dir
        self._keys, self._key_prefix = keys, key_prefix

    def shards(self, name: str, hash_: str, writing: bool = False) -> ShardFolder:
        """One config's folder; `writing` creates its data key in an encrypted workspace (reads only look)."""
        if not _NAME_RE.match(name):
            raise DatatrainerError(f"invalid cache name {name!r}: use letters, digits, '.', '_' or '-'")
        if not _HASH_RE.match(hash_):
            raise DatatrainerError(f"invalid config hash {hash_!r}: expected lower-case hex digits")
        crypto: FileCrypto | None = None
        if self._keys is not None and self._keys.encrypted:
            key_id = f"{self._key_prefix}/{name}/{hash_}"
            crypto = self._keys.ensure(key_id, STORE_KEY) if writing else self._keys.crypto(key_id)
        return ShardFolder(f"{self.root}/{name}/{hash_}", self._tmp_dir, self.data, crypto)

    def register(self, name: str, hash_: str, params: dict[str, Any], scope: str | None) -> StoredConfig:
        """Write `config.json` for a config the first time values are stored under it."""
        folder = self.shards(name, hash_).path
        if self.data.is_local:
            stored = write_config_once(Path(folder), self._tmp_dir, name, hash_, params, scope)
        else:
            stored = self._read(f"{folder}/{CONFIG_FILE}") or self._write_config(folder, name, hash_, params, scope)
        if stored.scope != scope:
            raise DatatrainerError(f"{name} config {hash_} was stored with scope {stored.scope!r}, not {scope!r}")
        return stored

    def _write_config(self, folder: str, name: str, hash_: str, params: dict[str, Any],
                      scope: str | None) -> StoredConfig:
        stored = new_config(name, hash_, params, scope)
        self._tmp_dir.mkdir(parents=True, exist_ok=True)
        local = self._tmp_dir / f"config-{uuid.uuid4().hex}.json"
        try:
            local.write_bytes(config_bytes(stored))
            put_file(self.data, local, f"{folder}/{CONFIG_FILE}")
        finally:
            local.unlink(missing_ok=True)
        return stored

    def _read(self, path: str) -> StoredConfig | None:
        try:
            with self.data.filesystem.open_input_stream(path, compression=None) as handle:
                return parse_config(handle.read())
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise storage_error(self.data.uri(path), exc) from None

    def configs(self, name: str | None = None) -> list[StoredConfig]:
        if self.data.is_local:
            pattern = f"{name}/*/{CONFIG_FILE}" if name is not None else f"*/*/{CONFIG_FILE}"
            return [read_config(path.parent) for path in sorted(Path(self.root).glob(pattern))]
        depth = len(self.root.rstrip("/").split("/"))
        found = []
        for entry in self.data.list(self.root, recursive=True):
            parts = entry.path.split("/")[depth:]
            if (entry.type == pafs.FileType.File and len(parts) == 3 and parts[2] == CONFIG_FILE
                    and (name is None or parts[0] == name)):
                found.append(entry.path)
        return [config for config in (self._read(path) for path in sorted(found)) if config is not None]

    def applicable(self, version: DatasetVersion) -> list[StoredConfig]:
        """Configs whose values mean something for this version: per-record ones, and those scoped to it."""
        key = version.info.storage_key
        return [config for config in self.configs() if config.scope in (None, key)]

    def computed(self, version: DatasetVersion) -> list[Computed]:
        """Every applicable config with at least one of the version's records cached."""
        found = [Computed(config, self.shards(config.name, config.config_hash).coverage(version), version.num_rows)
                 for config in self.applicable(version)]
        return [item for item in found if item.covered > 0]

    def choose(self, version: DatasetVersion, matches: Callable[[StoredConfig], bool], what: str,
               hint: str) -> StoredConfig:
        """Among applicable configs that match, the one covering most of the version (on a tie, not a
        `SECONDARY` one, then the newest).

        This lets callers name a model or scorer without its hash when only one config was ever computed,
        which is the common case, and still be deterministic when several were.
        """
        candidates = [config for config in self.applicable(version) if matches(config)]
        if not candidates:
            raise NotFoundError(f"no {what} stored for {version.ref} ({hint})")
        ranked = [(self.shards(c.name, c.config_hash).coverage(version), not c.params.get(SECONDARY, False),
                   c.created_at, c) for c in candidates]
        covered, _, _, best = max(ranked, key=lambda item: item[:3])
        if covered == 0:
            raise NotFoundError(f"no {what} stored for {version.ref} ({hint})")
        return best


class ContentStore:
    """Values computed once per distinct record content and config, resumable batch by batch.

    Keys are content hashes, not ids: two versions sharing a text share its value, and a later version
    never recomputes it. Each finished batch becomes one shard, so an interrupted run keeps every batch it
    finished and a re-run computes only `missing`.
    """

    folder_name: str  # the top folder of this kind of value in the data location

    def __init__(self, ws: Workspace) -> None:
        data = ws.data
        tmp = Path(data.path("tmp")) if data.is_local else ws.root / "tmp"
        self.cache = CacheRoot(data.path(self.folder_name), tmp, data, ws.keys, self.folder_name)

    def missing(self, version: DatasetVersion, name: str, config_hash: str) -> pa.Array:
        """Distinct content hashes of the version's records with no stored value for this config."""
        return self.cache.shards(name, config_hash).missing(version)[CONTENT_HASH].combine_chunks()

    def pending(self, version: DatasetVersion, name: str, config_hash: str,
                columns: Sequence[str] = (CONTENT_HASH, TEXT), batch_rows: int = 1024) -> Iterator[pa.Table]:
        """The records still to compute, one per missing content hash, in batches of `batch_rows` (each
        batch is meant to become one stored shard, so an interruption loses at most one batch)."""
        shards = self.cache.shards(name, config_hash)
        return pending_records(version, shards.missing(version), columns, batch_rows)

    def configs(self, name: str | None = None) -> list[StoredConfig]:
        return self.cache.configs(name)

    def computed(self, version: DatasetVersion) -> list[Computed]:
        """What has been computed for this version: every config with its coverage."""
        return self.cache.computed(version)

    def _publish(self, name: str, config_hash: str, meta: dict[str, Any], scope: str | None, index: pa.Table,
                 companions: Sequence[tuple[str, Callable[[Path], None]]] = ()) -> None:
        """Register the config (first time) and store one finished batch as a shard, if it has rows."""
        self.cache.register(name, config_hash, meta, scope)
        if index.num_rows:
            shards = self.cache.shards(name, config_hash, writing=True)
            crypto = shards.crypto
            if crypto is not None:
                companions = [(suffix, _sealing(write, crypto)) for suffix, write in companions]
            shards.publish(index, companions)


def _sealing(write: Callable[[Path], None], crypto: FileCrypto) -> Callable[[Path], None]:
    """A companion writer whose file is sealed under the folder's data key before it is published."""
    def sealed(path: Path) -> None:
        write(path)
        path.write_bytes(crypto.seal(path.read_bytes()))

    return sealed


def hash_matches(selector: str) -> Callable[[StoredConfig], bool]:
    """A config hash or a prefix of one, as users copy them from `scores show`."""
    return lambda config: config.config_hash.startswith(selector.lower())
