"""`ScoreStore` (`ws.scores`): per-record scores cached by (content hash, scorer, config hash).

Any scorer (density, Ask-LLM, perplexity) writes through `add` one finished batch at a time, so an
interrupted run keeps every batch it finished and a re-run computes only `missing`. Keys are content hashes,
not ids: two versions sharing a text share its score, and a later version never recomputes it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from datatrainer.scoring.cache import CacheRoot, Computed, hash_matches
from datatrainer.scoring.configs import StoredConfig
from datatrainer.scoring.shards import content_hash_array, pending_records
from datatrainer.store.schema import CONTENT_HASH, ID, TEXT
from datatrainer.store.versions import DatasetVersion

if TYPE_CHECKING:
    from datatrainer.workspace import Workspace

SCORES_DIR = "scores"
SCORE = "score"
CONFIG_HASH_KEY = b"config_hash"


class ScoreStore:
    def __init__(self, ws: Workspace) -> None:
        self.cache = CacheRoot(ws.root / SCORES_DIR, ws.root / "tmp")

    def missing(self, version: DatasetVersion, scorer: str, config_hash: str) -> pa.Array:
        """Distinct content hashes of the version's records with no stored score for this config."""
        return self.cache.shards(scorer, config_hash).missing(version)[CONTENT_HASH].combine_chunks()

    def pending(self, version: DatasetVersion, scorer: str, config_hash: str,
                columns: Sequence[str] = (CONTENT_HASH, TEXT), batch_rows: int = 1024) -> Iterator[pa.Table]:
        """The records still to compute, one per missing content hash, in batches of `batch_rows` (each
        batch is meant to become one stored shard, so an interruption loses at most one batch)."""
        shards = self.cache.shards(scorer, config_hash)
        return pending_records(version, shards.missing(version), columns, batch_rows)

    def add(self, scorer: str, config_hash: str, content_hashes: pa.Array | pa.ChunkedArray | Sequence[str],
            scores: np.ndarray[Any, Any], meta: dict[str, Any], scope: DatasetVersion | None = None) -> None:
        """Store one finished batch of scores atomically.

        `meta` is the scorer's parameters (recorded once as the config's `config.json`). Pass `scope` for
        scores that depend on the whole version (density): they are then offered only for that version.
        """
        hashes = content_hash_array(content_hashes)
        values = np.asarray(scores, dtype=np.float64)
        if values.shape != (len(hashes),):
            raise ValueError(f"{len(hashes)} content hashes but scores of shape {values.shape}")
        self.cache.register(scorer, config_hash, meta, scope.info.storage_key if scope is not None else None)
        if len(hashes):
            shard = pa.table({CONTENT_HASH: hashes, SCORE: pa.array(values, pa.float64())})
            self.cache.shards(scorer, config_hash).publish(shard)

    def resolve(self, version: DatasetVersion, scorer: str, config_hash: str | None = None) -> StoredConfig:
        """The config `scores_for` reads: the given hash (or prefix), else the one covering most records."""
        def matches(config: StoredConfig) -> bool:
            return config.name == scorer and (config_hash is None or hash_matches(config_hash)(config))

        return self.cache.choose(version, matches, f"{scorer!r} scores" + (f" with config {config_hash}"
                                 if config_hash else ""), f"`datatrainer scores show {version.ref}` lists them")

    def scores_for(self, version: DatasetVersion, scorer: str, config_hash: str | None = None) -> pa.Table:
        """`(id, content_hash, score)` for every record of the version, in record order.

        `score` is null where nothing is stored yet. The config used is in the schema metadata
        (`config_hash`), since with `config_hash=None` the store picks it (see `resolve`).
        """
        config = self.resolve(version, scorer, config_hash)
        table = self.cache.shards(scorer, config.config_hash).aligned(version, [SCORE], ["DOUBLE"])
        return table.select([ID, CONTENT_HASH, SCORE]).replace_schema_metadata(
            {CONFIG_HASH_KEY: config.config_hash.encode()})

    def configs(self, scorer: str | None = None) -> list[StoredConfig]:
        return self.cache.configs(scorer)

    def computed(self, version: DatasetVersion) -> list[Computed]:
        """What has been computed for this version: every scorer config with its coverage."""
        return self.cache.computed(version)

