"""`EmbeddingStore` (`ws.embeddings`): sentence embeddings cached by (content hash, embedding model config).

Each shard is a `.npy` matrix (memory-mappable, float16 by default: half the disk and page cache of float32,
and a cosine error around 1e-3, far below what density or clustering can see) plus a Parquet index whose row
i names the content hash of matrix row i. Shards are appended as batches finish, so an interrupted
`datatrainer embed` keeps what it computed.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datatrainer.errors import NotFoundError
from datatrainer.scoring.cache import ContentStore, hash_matches
from datatrainer.scoring.configs import StoredConfig
from datatrainer.scoring.shards import content_hash_array
from datatrainer.store.encryption import FileCrypto
from datatrainer.store.location import storage_error
from datatrainer.store.schema import CONTENT_HASH, ID
from datatrainer.store.versions import DatasetVersion

if TYPE_CHECKING:
    from datatrainer.models.embedders import Embedder

EMBEDDINGS_DIR = "embeddings"
MODEL_KEY = "model"
ALIASES_KEY = "aliases"

Matrix = np.ndarray[Any, np.dtype[np.floating[Any]]]


class EmbeddingStore(ContentStore):
    folder_name = EMBEDDINGS_DIR

    def add(self, name: str, model_hash: str, content_hashes: pa.Array | pa.ChunkedArray | Sequence[str],
            vectors: Matrix, meta: dict[str, Any], dtype: type[np.floating[Any]] = np.float16) -> None:
        """Store one finished batch of embeddings (row i belongs to content hash i) atomically."""
        hashes = content_hash_array(content_hashes)
        matrix = np.ascontiguousarray(vectors, dtype=dtype)
        if matrix.ndim != 2 or matrix.shape[0] != len(hashes):
            raise ValueError(f"{len(hashes)} content hashes but vectors of shape {matrix.shape}")
        self._publish(name, model_hash, meta, None, pa.table({CONTENT_HASH: hashes}),
                      [(".npy", lambda path: _save_npy(path, matrix))])

    def resolve(self, version: DatasetVersion, model: str | Embedder) -> StoredConfig:
        """A model config by hash (or prefix), by model id or alias (`minilm`), or from an `Embedder`.

        A model name may match several configs (another backend, another max length): the one covering
        most of the version is used.
        """
        selector = model if isinstance(model, str) else model.config_hash()

        def matches(config: StoredConfig) -> bool:
            names = [config.params.get(MODEL_KEY), *config.params.get(ALIASES_KEY, [])]
            return hash_matches(selector)(config) or selector in names

        return self.cache.choose(version, matches, f"embeddings for model {selector!r}",
                                 f"run `datatrainer embed {version.ref} --model ...`")

    def embeddings_for(self, version: DatasetVersion, model: str | Embedder,
                       dtype: type[np.floating[Any]] = np.float32) -> tuple[pa.Array, Matrix]:
        """(ids, matrix) for every record of the version, in record order; row i embeds record i.

        Rows are gathered shard by shard from memory-mapped files, so only the result is held in memory.
        Every record must be embedded: a partial matrix would silently bias any sampler using it.
        """
        config = self.resolve(version, model)
        shards = self.cache.shards(config.name, config.config_hash)
        table = shards.aligned(version, [], [])
        missing = table["filename"].null_count
        if missing:
            raise NotFoundError(f"{missing:,} of {version.num_rows:,} records of {version.ref} have no "
                                f"{config.name} embeddings (config {config.config_hash}); run "
                                f"`datatrainer embed {version.ref} --model {config.params.get(MODEL_KEY)}`")
        encoded = pc.dictionary_encode(table["filename"]).combine_chunks()
        files = encoded.dictionary.to_pylist()
        rows = table["file_row_number"].to_numpy()
        # Records grouped by shard file with one sort, then one vectorised gather per file.
        order = np.argsort(encoded.indices.to_numpy(), kind="stable")
        ends = np.cumsum(np.bincount(encoded.indices.to_numpy(), minlength=len(files)))
        out: Matrix | None = None
        for number, index_file in enumerate(files):
            records = order[ends[number - 1] if number else 0:ends[number]]
            vectors = self._vectors(index_file, shards.crypto)
            if out is None:
                out = np.empty((version.num_rows, vectors.shape[1]), dtype=dtype)
            out[records] = vectors[rows[records]]
        return table[ID].combine_chunks(), out if out is not None else np.empty((0, 0), dtype=dtype)

    def _vectors(self, index_file: str, crypto: FileCrypto | None) -> Matrix:
        """A shard's matrix: memory-mapped on local disk, downloaded from object storage, decrypted in
        memory when the workspace is encrypted."""
        path = index_file[: -len(".parquet")] + ".npy"
        data = self.cache.data
        matrix: Matrix
        if data.is_local and crypto is None:
            matrix = np.load(path, mmap_mode="r")
            return matrix
        try:
            with data.filesystem.open_input_stream(path.removeprefix("s3://"), compression=None) as handle:
                raw = handle.read()
        except OSError as exc:
            raise storage_error(path, exc) from None
        matrix = np.load(io.BytesIO(crypto.unseal(raw, path) if crypto is not None else raw))
        return matrix


def _save_npy(path: Path, matrix: Matrix) -> None:
    with open(path, "wb") as handle:
        np.save(handle, matrix)
