"""`ScoreStore` (`ws.scores`): per-record scores cached by (content hash, scorer, config hash).

Any scorer (density, Ask-LLM, perplexity) writes through `add` one finished batch at a time; what is
missing, resuming and config bookkeeping come from `ContentStore`. A shard is a Parquet file of
(content_hash, score).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from datatrainer.scoring.cache import ContentStore, hash_matches
from datatrainer.scoring.configs import StoredConfig
from datatrainer.scoring.shards import content_hash_array
from datatrainer.store.schema import CONTENT_HASH, ID
from datatrainer.store.versions import DatasetVersion

SCORES_DIR = "scores"
SCORE = "score"
CONFIG_HASH_KEY = b"config_hash"


class ScoreStore(ContentStore):
    folder_name = SCORES_DIR

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
        self._publish(scorer, config_hash, meta, scope.info.storage_key if scope is not None else None,
                      pa.table({CONTENT_HASH: hashes, SCORE: pa.array(values, pa.float64())}))

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
