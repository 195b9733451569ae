"""Erase content hashes from the score and embedding stores (`ContentStore`).

Cached values are keyed by content hash (md5 of the text), which for a short text is as good as the text
itself to someone who can guess, so every shard holding an erased hash is rewritten without it: the new shard
(index, and matrix rows for embeddings) is published first, then the old one deleted. A crash in between
leaves two shards giving the same values for the other hashes, which readers already resolve (earliest
wins); the next run finds the old shard still holding the hashes and finishes. Encrypted folders are read
and written under their own data key.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from datatrainer.scoring.cache import ContentStore
from datatrainer.scoring.shards import ShardFolder
from datatrainer.store.location import storage_error
from datatrainer.store.schema import CONTENT_HASH

COMPANION = ".npy"


def erase_hashes(store: ContentStore, hashes: Iterable[str]) -> int:
    """Rewrite every shard of every config holding one of `hashes`; returns how many shards were rewritten."""
    erased = pa.array(sorted(set(hashes)), pa.string())
    if len(erased) == 0:
        return 0
    rewritten = 0
    for config in store.configs():
        shards = store.cache.shards(config.name, config.config_hash, writing=True)
        for path in shards.files():
            rewritten += _rewrite(shards, path, erased)
    return rewritten


def _rewrite(shards: ShardFolder, path: str, erased: pa.Array) -> int:
    crypto = shards.crypto
    decryption = crypto.decryption_properties() if crypto is not None else None
    try:
        index = pq.read_table(path, filesystem=shards.data.filesystem, decryption_properties=decryption)
    except OSError as exc:
        raise storage_error(shards.data.uri(path), exc) from None
    keep = pc.invert(pc.is_in(index.column(CONTENT_HASH), value_set=erased))
    if pc.all(keep).as_py():
        return 0
    companion = path[: -len(".parquet")] + COMPANION
    companions: list[tuple[str, Callable[[Path], None]]] = []
    if shards.data.filesystem.get_file_info(companion).is_file:
        with shards.data.filesystem.open_input_stream(companion, compression=None) as handle:
            raw = handle.read()
        matrix = np.load(io.BytesIO(crypto.unseal(raw, companion) if crypto is not None else raw))
        kept_rows = np.ascontiguousarray(matrix[keep.to_numpy(zero_copy_only=False)])
        companions.append((COMPANION, lambda target: _save(target, kept_rows, crypto)))
    shards.publish(index.filter(keep), companions)
    shards.data.delete(path)  # the index first: from here on the old matrix is unreachable
    shards.data.delete(companion)
    return 1


def _save(target: Path, matrix: np.ndarray[Any, Any], crypto: Any) -> None:
    buffer = io.BytesIO()
    np.save(buffer, matrix)
    data = buffer.getvalue()
    target.write_bytes(crypto.seal(data) if crypto is not None else data)
