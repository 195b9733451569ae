"""Config hashes, and the `config.json` that makes each hash readable again.

Scores and embeddings are keyed by the hash of everything that changes their values, so a cached value is
reused exactly when it would be recomputed identically. A hash alone tells a user nothing, so the parameters
behind it are written next to the cached values (`config.json`) and listed by `datatrainer scores show`.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

CONFIG_FILE = "config.json"
HASH_CHARS = 16
# A `config.json` parameter (not part of the hash) marking a config computed alongside a default one, such as
# Ask-LLM's pyes and logprob kinds next to its normalized score: when a caller names no config, the store
# prefers the default at equal coverage.
SECONDARY = "secondary"
# Stored as False by scorers whose LOW values are the good ones (perplexity): `sample --by SCORER` then keeps
# the lowest, so the plain command does what the scorer means.
HIGHER_IS_BETTER = "higher_is_better"


def config_hash(params: dict[str, Any]) -> str:
    """A short, stable hash of JSON-able parameters (keys sorted, so dict order never matters)."""
    return hashlib.sha256(orjson.dumps(params, option=orjson.OPT_SORT_KEYS)).hexdigest()[:HASH_CHARS]


@dataclass(frozen=True)
class StoredConfig:
    """What one cache folder holds: which scorer (or embedding model), its parameters, and its scope.

    `scope` is the storage key of the version a set-dependent score was computed over (a density is a sum
    over every record of one version, so it means nothing for another version); None for per-record scores
    such as Ask-LLM, which are valid for any version holding the same text.
    """

    name: str
    config_hash: str
    params: dict[str, Any]
    scope: str | None
    created_at: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "config_hash": self.config_hash, "params": self.params, "scope": self.scope,
                "created_at": self.created_at}


def write_config_once(folder: Path, tmp_dir: Path, name: str, hash_: str, params: dict[str, Any],
                      scope: str | None) -> StoredConfig:
    """Record a config the first time it is used; later writers find it and leave it alone."""
    path = folder / CONFIG_FILE
    if path.is_file():
        return read_config(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stored = new_config(name, hash_, params, scope)
    tmp = tmp_dir / f"config-{uuid.uuid4().hex}.json"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    tmp.write_bytes(config_bytes(stored))
    os.replace(tmp, path)  # atomic: readers see no config or a whole one
    return stored


def new_config(name: str, hash_: str, params: dict[str, Any], scope: str | None) -> StoredConfig:
    return StoredConfig(name, hash_, params, scope, datetime.now(UTC).isoformat(timespec="seconds"))


def config_bytes(stored: StoredConfig) -> bytes:
    """The `config.json` text of a config."""
    return orjson.dumps(stored.to_json(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)


def parse_config(raw: bytes) -> StoredConfig:
    data = orjson.loads(raw)
    return StoredConfig(data["name"], data["config_hash"], dict(data["params"]), data.get("scope"),
                        data["created_at"])


def read_config(folder: Path) -> StoredConfig:
    return parse_config((folder / CONFIG_FILE).read_bytes())
