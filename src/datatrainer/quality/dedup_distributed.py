"""Near-duplicate clusters on a distributed engine: the clusters `NearDuplicateFinder` finds, without
gathering the per-record sketches (~1.3 KB a record) on the driver.

1. Band keys (map): every worker shingles, signs and bands its batches and emits one row per record and
   band, `(band, hash, row, null)`, routed to partition `hash % P`: a bucket's rows meet in one partition.
2. Candidates (reduce): each partition sorts its rows by (band, hash, row), and every bucket of k rows
   gives its star and chain pairs, as `minhash.candidate_pairs` does in memory; pairs with a null text are
   dropped. The driver keeps the union of the partitions' distinct pairs: the candidate edge list.
3. Verification: the exact shingle Jaccard of every candidate pair (`jaccard` below), computed where both
   texts meet: pairs belong to partition `left % P`, and a second shuffle re-shingles only the records
   that are in some pair and sends each to the partitions of its pairs.
4. Components on the driver, over the verified edges only (`clusters_from_candidates`: the same code as in
   memory), then step 3 again for members linked to their cluster's first record through another member.

What the driver holds: the candidate pairs (16 bytes each; duplicates are a minority, and each bucket of k
rows gives at most 2k pairs) and the labels and similarities (16 bytes a record). What moves between
workers: 19 bytes per record and band in step 1 (the band-key shuffle, the large one), and the shingles of
paired records, about twice each, in step 3.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pyarrow as pa

from datatrainer.engine.base import PARTITION, Engine
from datatrainer.quality.dedup import Clusters, MinHashSettings, clusters_from_candidates, null_mask
from datatrainer.quality.jaccard import pair_jaccard
from datatrainer.quality.minhash import band_hashes, signatures
from datatrainer.quality.shingles import Shingles, shingle_hashes
from datatrainer.store.schema import ID, TEXT
from datatrainer.store.versions import DatasetVersion

BAND_KEY_BYTES = 19  # band (int16) + hash (uint64) + row (int64) + null (bool) per record and band
PARTITION_BYTES = 64 << 20  # band keys per shuffle partition: what one reduce task sorts


def partitions_for(version: DatasetVersion, bands: int, engine: Engine) -> int:
    """Enough partitions that each holds about `PARTITION_BYTES` of band keys, and every worker has two."""
    return max(2 * engine.threads, math.ceil(version.num_rows * bands * BAND_KEY_BYTES / PARTITION_BYTES))


def _band_keys(settings: MinHashSettings, partitions: int, batch: pa.RecordBatch, first: int) -> pa.Table:
    """Step 1 on a worker: one row per record and band, routed by the band hash."""
    bands, rows_per_band = settings.lsh_shape()
    texts = batch.column(TEXT)
    shingles = shingle_hashes(texts, settings.ngram, settings.seed, settings.normalize)
    hashes = band_hashes(signatures(shingles, settings.num_perm, settings.seed), bands, rows_per_band).ravel()
    count = batch.num_rows
    return pa.table({
        "band": pa.array(np.tile(np.arange(bands, dtype=np.int16), count)),
        "hash": pa.array(hashes),
        "row": pa.array(np.repeat(np.arange(first, first + count, dtype=np.int64), bands)),
        "null": pa.array(np.repeat(null_mask(texts), bands)),
        PARTITION: pa.array((hashes % np.uint64(partitions)).astype(np.int32)),
    })


def _bucket_pairs(rows: int, _: int, keys: pa.Table) -> np.ndarray:
    """Step 2 on a worker: the distinct candidate pairs of one partition's buckets, as keys `i * rows + j`.

    In each bucket (equal band and hash) sorted by row, every member pairs with the previous one (chain)
    and with the first (star), exactly the pairs `_kernels.band_pairs` proposes in memory."""
    band, hashes = keys["band"].to_numpy(), keys["hash"].to_numpy()
    row, null = keys["row"].to_numpy(), np.asarray(keys["null"].to_numpy(zero_copy_only=False), dtype=bool)
    order = np.lexsort((row, hashes, band))
    band, hashes, row, null = band[order], hashes[order], row[order], null[order]
    starts_bucket = np.ones(len(row), dtype=bool)
    starts_bucket[1:] = (band[1:] != band[:-1]) | (hashes[1:] != hashes[:-1])
    starts = np.flatnonzero(starts_bucket)
    bucket = np.cumsum(starts_bucket) - 1
    chain = np.flatnonzero(~starts_bucket)  # members after the first: pair with the previous member
    star = chain[chain - starts[bucket[chain]] >= 2]  # from the third on: also pair with the first
    first = starts[bucket[star]]
    left = np.concatenate((row[chain - 1], row[first]))
    right = np.concatenate((row[chain], row[star]))
    valid = ~np.concatenate((null[chain - 1] | null[chain], null[first] | null[star]))
    pairs: np.ndarray = np.unique(left[valid] * rows + right[valid])
    return pairs


def candidate_keys(engine: Engine, version: DatasetVersion, settings: MinHashSettings, partitions: int) -> np.ndarray:
    """Steps 1-2: the distinct candidate pairs of the whole version, as sorted keys `i * rows + j`."""
    found = [pairs for _, pairs in engine.shuffle(
        partial(_band_keys, settings, partitions), partitions, partial(_bucket_pairs, version.num_rows), version,
        [TEXT], "dedup (minhash): band keys")]
    return np.unique(np.concatenate(found)) if found else np.zeros(0, np.int64)


def _paired_shingles(settings: MinHashSettings, rows: np.ndarray, owners: np.ndarray, batch: pa.RecordBatch,
                     first: int) -> pa.Table:
    """Step 3's map on a worker: the shingles of this batch's records that are in some pair, once for
    each partition that needs them (`rows`/`owners`: sorted (row, partition) targets)."""
    low, high = np.searchsorted(rows, [first, first + batch.num_rows])
    targets, parts = rows[low:high], owners[low:high]
    distinct, inverse = np.unique(targets, return_inverse=True)
    texts = batch.column(TEXT).take(pa.array(distinct - first))
    shingles = shingle_hashes(texts, settings.ngram, settings.seed, settings.normalize)
    lists = pa.LargeListArray.from_arrays(pa.array(shingles.offsets), pa.array(shingles.hashes))
    return pa.table({"row": pa.array(targets), "shingles": lists.take(pa.array(inverse)),
                     PARTITION: pa.array(parts.astype(np.int32))})


def _pair_similarity(left: np.ndarray, right: np.ndarray, owner: np.ndarray, part: int,
                     received: pa.Table) -> np.ndarray:
    """Step 3's reduce on a worker: the Jaccard similarity of partition `part`'s pairs, in pair order."""
    order = np.argsort(received["row"].to_numpy())
    rows = received["row"].to_numpy()[order]
    lists = received["shingles"].take(pa.array(order)).combine_chunks()
    offsets = lists.offsets.to_numpy()
    shingles = Shingles(lists.flatten().to_numpy(), offsets - offsets[0])
    mine = owner == part
    similarity: np.ndarray = pair_jaccard(shingles, np.searchsorted(rows, left[mine]),
                                          np.searchsorted(rows, right[mine]))
    return similarity


def jaccard(engine: Engine, version: DatasetVersion, settings: MinHashSettings, partitions: int,
            left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Step 3: exact shingle Jaccard similarity of row pairs, computed on the workers."""
    similarity = np.zeros(len(left), dtype=np.float64)
    if not len(left):
        return similarity
    owner = left % partitions
    targets = np.unique(np.concatenate((left, right)) * partitions + np.concatenate((owner, owner)))
    emit = partial(_paired_shingles, settings, targets // partitions, targets % partitions)
    reduce = partial(_pair_similarity, left, right, owner)
    for part, values in engine.shuffle(emit, partitions, reduce, version, [TEXT], "dedup (minhash): verifying"):
        similarity[owner == part] = values
    return similarity


def distributed_near_duplicates(engine: Engine, version: DatasetVersion,
                                settings: MinHashSettings) -> Clusters:
    """The near-duplicate clusters of a version, computed with shuffles on the engine (steps 1-4)."""
    partitions = partitions_for(version, settings.lsh_shape()[0], engine)
    keys = candidate_keys(engine, version, settings, partitions)
    return clusters_from_candidates(version.num_rows, keys, partial(jaccard, engine, version, settings, partitions),
                                    settings.threshold)


def _ids_of(rows: np.ndarray, batch: pa.RecordBatch, first: int) -> pa.Array:
    low, high = np.searchsorted(rows, [first, first + batch.num_rows])
    return batch.column(ID).take(pa.array(rows[low:high] - first))


def ids_of_rows(engine: Engine, version: DatasetVersion, rows: np.ndarray) -> pa.ChunkedArray:
    """The ids of the given (sorted) rows, read by the workers: a join of row numbers against the version."""
    found = list(engine.map_numbered(partial(_ids_of, rows), version, [ID], "dedup: ids of clustered records"))
    return pa.chunked_array(found, version.schema.field(ID).type)
