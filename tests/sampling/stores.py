"""Put synthetic embeddings and scores into a workspace's stores, as `datatrainer embed` / `score` would."""

from __future__ import annotations

import numpy as np

from datatrainer.scoring.configs import config_hash
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace


def store_embeddings(ws: Workspace, version: DatasetVersion, vectors: np.ndarray, model: str = "minilm") -> str:
    """Row i of `vectors` embeds record i of `version`; stored under a config answering to `model`."""
    meta = {"model": f"synthetic-{model}", "aliases": [model], "dim": vectors.shape[1]}
    hash_ = config_hash(meta)
    hashes = version.to_table(columns=["content_hash"])["content_hash"].combine_chunks()
    ws.embeddings.add(f"synthetic-{model}", hash_, hashes, vectors, meta)
    return hash_


def store_scores(ws: Workspace, version: DatasetVersion, scorer: str, values: np.ndarray,
                 scoped: bool = False) -> str:
    meta = {"scorer": scorer}
    hash_ = config_hash(meta)
    hashes = version.to_table(columns=["content_hash"])["content_hash"].combine_chunks()
    ws.scores.add(scorer, hash_, hashes, values, meta, scope=version if scoped else None)
    return hash_
