"""Workspace-level runs: embed a version's records, and score its density, through the stores.

Both are resumable by construction: they ask the store what is missing, compute only that, and store each
finished batch as a shard before starting the next. Both run on an engine: embedding as a pool of workers
that each load the model once (`Engine.map_actors`), density as per-task sketches merged (`density_on`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datatrainer.engine.base import Engine, Reusable
from datatrainer.engine.local import LocalEngine
from datatrainer.errors import DatatrainerError
from datatrainer.models.embedders import BATCH_SIZE, Backend, Embedder, Vectors, load_embedder
from datatrainer.progress import Advance
from datatrainer.scoring.configs import StoredConfig, config_hash
from datatrainer.scoring.density import density_on
from datatrainer.scoring.race import RaceParams
from datatrainer.store.schema import CONTENT_HASH, TEXT
from datatrainer.store.versions import DatasetVersion

if TYPE_CHECKING:
    from datatrainer.workspace import Workspace

DENSITY = "density"
SHARD_ROWS = 1024  # about 10 s of MiniLM on 2 cores: what an interruption can lose


@dataclass(frozen=True)
class EmbedderRequest:
    """An embedding model as the user names it: what each worker of an engine loads."""

    model: str = "minilm"
    backend: Backend = "st"
    batch_size: int = BATCH_SIZE

    def load(self) -> Embedder:
        return load_embedder(self.model, self.backend, self.batch_size)


def embed_version(ws: Workspace, version: DatasetVersion, embedder: Embedder, advance: Advance | None = None,
                  shard_rows: int = SHARD_ROWS, engine: Engine | None = None,
                  request: EmbedderRequest | None = None) -> int:
    """Embed every distinct text of the version not embedded yet with this model config; returns how many.

    The shards run on `engine` (default: in this process, with `embedder`); workers elsewhere load their
    own copy of the model from `request`. Each finished shard is stored by the driver as it arrives.
    """
    name, hash_ = embedder.name, embedder.config_hash()
    load = request.load if request is not None else partial(_not_reloadable, name)
    computed = 0
    shards = ws.embeddings.pending(version, name, hash_, (CONTENT_HASH, TEXT), shard_rows)
    for hashes, vectors in (engine or LocalEngine()).map_actors(
            partial(_embedding, Reusable(load, embedder)), shards, description="embedding"):
        ws.embeddings.add(name, hash_, hashes, vectors, embedder.config())
        computed += len(hashes)
        if advance is not None:
            advance(len(hashes))
    ws.audit.computed("embeddings", version.info, name, hash_, computed)
    return computed


def _embedding(model: Reusable[Embedder]) -> Callable[[pa.Table], tuple[pa.Array, Vectors]]:
    """A worker's function: (content hashes, vectors) of one shard of records."""
    embedder = model.get()
    return lambda shard: (shard[CONTENT_HASH].combine_chunks(), embedder.embed(shard[TEXT].combine_chunks()))


def _not_reloadable(name: str) -> Embedder:
    raise DatatrainerError(f"embedder {name!r} was given without the request to load it on other workers")


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
                      advance: Advance | None = None, engine: Engine | None = None) -> StoredConfig:
    """Stored embeddings of every record with this model: the complete ones if any, else the model is
    loaded and only the missing texts are embedded."""
    complete = complete_embeddings(ws, version, model, backend)
    if complete is not None:
        return complete
    request = EmbedderRequest(model, backend)
    embedder = request.load()
    embed_version(ws, version, embedder, advance, engine=engine, request=request)
    return ws.embeddings.resolve(version, embedder)


def density_config(version: DatasetVersion, embedding: StoredConfig, sketch: RaceParams) -> dict[str, Any]:
    """What a density score depends on: the embeddings, the sketch, and the set of records (the version)."""
    ignored = {"bandwidth"} if sketch.family == "srp" else None  # srp has no bin width: same scores for any
    return {"embedding": embedding.config_hash, "model": embedding.params.get("model"),
            "sketch": sketch.model_dump(mode="json", exclude=ignored), "version": version.info.storage_key}


def score_density(ws: Workspace, version: DatasetVersion, embedding: StoredConfig, sketch: RaceParams,
                  engine: Engine | None = None) -> str:
    """Compute and store density scores for every record; returns the scores' config hash.

    The scores are a property of the whole version, so they are stored scoped to it, once per distinct text
    (records with equal text have equal embeddings, hence equal scores).
    """
    params = density_config(version, embedding, sketch)
    hash_ = config_hash(params)
    if not len(ws.scores.missing(version, DENSITY, hash_)):
        return hash_
    _, vectors = ws.embeddings.embeddings_for(version, embedding.config_hash, dtype=np.float16)
    scores = density_on(engine or LocalEngine(), vectors, sketch)
    hashes = version.to_table([CONTENT_HASH])[CONTENT_HASH].combine_chunks()
    first = pc.index_in(pc.unique(hashes), value_set=hashes).to_numpy()
    ws.scores.add(DENSITY, hash_, hashes.take(first), scores[first], params, scope=version)
    ws.audit.computed("scores", version.info, DENSITY, hash_, len(first))
    return hash_
