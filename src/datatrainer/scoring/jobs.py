"""Workspace-level runs: embed a version's records, and score its density, through the stores.

Both are resumable by construction: they ask the store what is missing, compute only that, and store each
finished batch as a shard before starting the next.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow.compute as pc

from datatrainer.models.embedders import Backend, Embedder, load_embedder
from datatrainer.progress import Advance
from datatrainer.scoring.configs import StoredConfig, config_hash
from datatrainer.scoring.density import density_scores
from datatrainer.scoring.race import RaceParams
from datatrainer.store.schema import CONTENT_HASH, TEXT
from datatrainer.store.versions import DatasetVersion

if TYPE_CHECKING:
    from datatrainer.workspace import Workspace

DENSITY = "density"
SHARD_ROWS = 1024  # about 10 s of MiniLM on 2 cores: what an interruption can lose


def embed_version(ws: Workspace, version: DatasetVersion, embedder: Embedder, advance: Advance | None = None,
                  shard_rows: int = SHARD_ROWS) -> int:
    """Embed every distinct text of the version not embedded yet with this model config; returns how many."""
    name, hash_ = embedder.name, embedder.config_hash()
    computed = 0
    for batch in ws.embeddings.pending(version, name, hash_, (CONTENT_HASH, TEXT), shard_rows):
        ws.embeddings.add(name, hash_, batch[CONTENT_HASH], embedder.embed(batch[TEXT].combine_chunks()),
                          embedder.config())
        computed += batch.num_rows
        if advance is not None:
            advance(batch.num_rows)
    return computed


def complete_embeddings(ws: Workspace, version: DatasetVersion, model: str, backend: Backend) -> StoredConfig | None:
    """A stored config already embedding every record of the version with this model and backend, if any.

    Found from the stored configs alone, without loading the model (loading MiniLM takes seconds).
    """
    for computed in ws.embeddings.computed(version):
        params = computed.config.params
        if computed.complete and params.get("backend") == backend and (
                model == params.get("model") or model in params.get("aliases", [])):
            return computed.config
    return None


def ensure_embeddings(ws: Workspace, version: DatasetVersion, model: str, backend: Backend,
                      advance: Advance | None = None) -> StoredConfig:
    """Stored embeddings of every record with this model: the complete ones if any, else the model is
    loaded and only the missing texts are embedded."""
    complete = complete_embeddings(ws, version, model, backend)
    if complete is not None:
        return complete
    embedder = load_embedder(model, backend)
    embed_version(ws, version, embedder, advance)
    return ws.embeddings.resolve(version, embedder)


def density_config(version: DatasetVersion, embedding: StoredConfig, sketch: RaceParams) -> dict[str, Any]:
    """What a density score depends on: the embeddings, the sketch, and the set of records (the version)."""
    ignored = {"bandwidth"} if sketch.family == "srp" else None  # srp has no bin width: same scores for any
    return {"embedding": embedding.config_hash, "model": embedding.params.get("model"),
            "sketch": sketch.model_dump(mode="json", exclude=ignored), "version": version.info.storage_key}


def score_density(ws: Workspace, version: DatasetVersion, embedding: StoredConfig, sketch: RaceParams) -> str:
    """Compute and store density scores for every record; returns the scores' config hash.

    The scores are a property of the whole version, so they are stored scoped to it, once per distinct text
    (records with equal text have equal embeddings, hence equal scores).
    """
    params = density_config(version, embedding, sketch)
    hash_ = config_hash(params)
    if not len(ws.scores.missing(version, DENSITY, hash_)):
        return hash_
    _, vectors = ws.embeddings.embeddings_for(version, embedding.config_hash, dtype=np.float16)
    scores = density_scores(vectors, sketch)
    hashes = version.to_table([CONTENT_HASH])[CONTENT_HASH].combine_chunks()
    first = pc.index_in(pc.unique(hashes), value_set=hashes).to_numpy()
    ws.scores.add(DENSITY, hash_, hashes.take(first), scores[first], params, scope=version)
    return hash_
