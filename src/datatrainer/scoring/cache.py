"""`CacheRoot`: the folders of one kind of cached per-record value (scores, embeddings), one per config.

Layout: `<root>/<name>/<config hash>/` holding `config.json` (what the hash means) and the Parquet shards of
`ShardFolder`. Shared by `ScoreStore` and `EmbeddingStore`, which differ only in what a shard carries.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datatrainer.errors import DatatrainerError, NotFoundError
from datatrainer.scoring.configs import CONFIG_FILE, SECONDARY, StoredConfig, read_config, write_config_once
from datatrainer.scoring.shards import ShardFolder
from datatrainer.store.versions import DatasetVersion

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
    def __init__(self, root: Path, tmp_dir: Path) -> None:
        self.root = root
        self._tmp_dir = tmp_dir

    def shards(self, name: str, hash_: str) -> ShardFolder:
        if not _NAME_RE.match(name):
            raise DatatrainerError(f"invalid cache name {name!r}: use letters, digits, '.', '_' or '-'")
        if not _HASH_RE.match(hash_):
            raise DatatrainerError(f"invalid config hash {hash_!r}: expected lower-case hex digits")
        return ShardFolder(self.root / name / hash_, self._tmp_dir)

    def register(self, name: str, hash_: str, params: dict[str, Any], scope: str | None) -> StoredConfig:
        """Write `config.json` for a config the first time values are stored under it."""
        folder = self.shards(name, hash_).path
        stored = write_config_once(folder, self._tmp_dir, name, hash_, params, scope)
        if stored.scope != scope:
            raise DatatrainerError(f"{name} config {hash_} was stored with scope {stored.scope!r}, not {scope!r}")
        return stored

    def configs(self, name: str | None = None) -> list[StoredConfig]:
        pattern = f"{name}/*/{CONFIG_FILE}" if name is not None else f"*/*/{CONFIG_FILE}"
        return [read_config(path.parent) for path in sorted(self.root.glob(pattern))]

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


def hash_matches(selector: str) -> Callable[[StoredConfig], bool]:
    """A config hash or a prefix of one, as users copy them from `scores show`."""
    return lambda config: config.config_hash.startswith(selector.lower())
