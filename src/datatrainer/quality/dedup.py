"""Duplicate clusters: exact (hash of the normalised text) and near-duplicate (MinHash + LSH).

Both finders work in two steps so that a version can stream through them: `sketch` turns a batch of texts
into compact per-record data (pure, so batches run in parallel threads) and `add` stores sketches in row
order; `finish` then sees every record at once and returns `Clusters`, labelling each record with the row
number of the first record (in version order) of its cluster, the one dedup keeps.

Near-duplicates: word n-gram shingles of the normalised text (`shingles`), one-permutation MinHash
signatures (`minhash`), LSH banding into candidate pairs, each candidate checked with its exact shingle
Jaccard similarity (`jaccard`), and clusters as connected components of the pairs at or above the
threshold (`clusters`). Signatures are only needed for their band hashes, so they are dropped per batch;
what is kept per record is its band hashes and shingle hashes (~1.3 KB for a 150-word text), in memory for
small versions and in a temporary file beyond 128 MB (`spool`).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal, Protocol, TypeAlias, TypeVar

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, model_validator

from datatrainer.duckdb_local import thread_connection
from datatrainer.params import validate_params
from datatrainer.quality.clusters import component_labels
from datatrainer.quality.jaccard import pair_jaccard
from datatrainer.quality.minhash import band_hashes, candidate_pairs, lsh_bands, signatures
from datatrainer.quality.shingles import Shingles, shingle_hashes
from datatrainer.quality.spool import Spool
from datatrainer.quality.textnorm import normalize_text

Texts: TypeAlias = pa.Array | pa.ChunkedArray
PairJaccard: TypeAlias = Callable[[np.ndarray, np.ndarray], np.ndarray]
# LSH exists to propose candidates and every candidate is then checked exactly, so a missed pair costs far
# more than a spurious one: the band shape is chosen with false negatives weighted 49 to 1 (at threshold
# 0.7 that is 23 bands of 5 rows, proposing 98.5% of the pairs right at the threshold).
FALSE_POSITIVE_WEIGHT = 0.02
FALSE_NEGATIVE_WEIGHT = 0.98
_CHUNK_ROWS = 16_384


class MinHashSettings(BaseModel):
    """Near-duplicate parameters; validated with one-line errors that name the parameter."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    threshold: float = Field(0.8, gt=0, le=1, description="Jaccard similarity at or above which texts are duplicates")
    num_perm: int = Field(128, ge=1, le=1024, description="MinHash signature slots (permutations)")
    ngram: int = Field(3, ge=1, le=32, description="words per shingle")
    seed: int = Field(1, ge=0, lt=2**63, description="seed of the hash functions")
    normalize: bool = Field(True, description="normalise case, punctuation and whitespace before shingling")
    bands: int | None = Field(None, ge=1, description="LSH bands (default: chosen from threshold and num_perm)")

    @model_validator(mode="after")
    def _bands_fit(self) -> MinHashSettings:
        if self.bands is not None and self.bands > self.num_perm:
            raise ValueError(f"num-perm ({self.num_perm}) must be at least bands ({self.bands})")
        return self

    def lsh_shape(self) -> tuple[int, int]:
        """(bands, rows per band)."""
        if self.bands is not None:
            return self.bands, self.num_perm // self.bands
        return lsh_bands(self.threshold, self.num_perm, FALSE_POSITIVE_WEIGHT, FALSE_NEGATIVE_WEIGHT)


@dataclass(frozen=True)
class Clusters:
    """`labels[i]`: row number of the first record of row i's cluster (i itself when unique or first);
    `similarity[i]`: similarity of row i to that record (1.0 for exact duplicates and for the record);
    `pairs`: the (m, 2) row pairs found to be duplicates (i < j), whose components the clusters are."""

    method: str
    labels: np.ndarray
    similarity: np.ndarray
    pairs: np.ndarray
    candidate_pairs: int = 0

    @property
    def kept(self) -> np.ndarray:
        kept: np.ndarray = self.labels == np.arange(len(self.labels))
        return kept

    @property
    def sizes(self) -> np.ndarray:
        """Size of each row's cluster."""
        sizes: np.ndarray = np.bincount(self.labels, minlength=len(self.labels))[self.labels]
        return sizes

    def summary(self) -> dict[str, Any]:
        sizes = np.bincount(self.labels, minlength=len(self.labels))
        kept = int(self.kept.sum())
        return {"method": self.method, "rows": len(self.labels), "kept": kept,
                "dropped": len(self.labels) - kept, "clusters": int((sizes > 1).sum()),
                "largest_cluster": int(sizes.max(initial=0)), "candidate_pairs": self.candidate_pairs}


S = TypeVar("S")


class Finder(Protocol[S]):
    """What `find_clusters` drives: parallel `sketch`, ordered `add`, then `finish`."""

    def sketch(self, texts: pa.Array) -> S: ...

    def add(self, sketch: S) -> None: ...

    def finish(self) -> Clusters: ...

    def close(self) -> None: ...


def null_mask(texts: pa.Array) -> np.ndarray:
    """True for null texts (never duplicates of anything)."""
    return np.asarray(texts.is_null().to_numpy(zero_copy_only=False), dtype=bool)


@dataclass
class _NearSketch:
    shingles: Shingles
    bands: np.ndarray
    null: np.ndarray


class NearDuplicateFinder:
    """Near-duplicate clusters by MinHash LSH candidates checked with exact Jaccard similarity."""

    def __init__(self, settings: MinHashSettings, spill_folder: Path | None = None) -> None:
        self.settings = settings
        self.bands, self.rows_per_band = settings.lsh_shape()
        self._hashes = Spool(np.uint64, 1, spill_folder)
        self._band_hashes = Spool(np.uint64, self.bands, spill_folder)
        self._slots: list[np.ndarray] = []
        self._null: list[np.ndarray] = []

    def sketch(self, texts: pa.Array) -> _NearSketch:
        """Shingle hashes and band hashes of a batch (the C loops release the GIL: batches run in parallel)."""
        s = self.settings
        shingles = shingle_hashes(texts, s.ngram, s.seed, s.normalize)
        bands = band_hashes(signatures(shingles, s.num_perm, s.seed), self.bands, self.rows_per_band)
        return _NearSketch(shingles, bands, null_mask(texts))

    def add(self, sketch: _NearSketch) -> None:
        self._hashes.append(sketch.shingles.hashes)
        self._slots.append(sketch.shingles.slots)
        self._band_hashes.append(sketch.bands)
        self._null.append(sketch.null)

    def _candidates(self, rows: int, null: np.ndarray) -> np.ndarray:
        """Distinct candidate pairs (i < j) over all bands, as sorted keys `i * rows + j`."""
        pairs = candidate_pairs(self._band_hashes.array())
        pairs = pairs[~(null[pairs[:, 0]] | null[pairs[:, 1]])]
        return np.sort(pairs[:, 0] * rows + pairs[:, 1])

    def finish(self) -> Clusters:
        slots = np.concatenate(self._slots) if self._slots else np.zeros(0, np.int64)
        rows = len(slots)
        offsets = np.zeros(rows + 1, dtype=np.int64)
        np.cumsum(slots, out=offsets[1:])
        shingles = Shingles(self._hashes.array().reshape(-1), offsets)
        null = np.concatenate(self._null) if self._null else np.zeros(0, bool)
        keys = self._candidates(rows, null)
        return clusters_from_candidates(rows, keys, partial(pair_jaccard, shingles), self.settings.threshold)

    def close(self) -> None:
        self._hashes.close()
        self._band_hashes.close()


def clusters_from_candidates(rows: int, keys: np.ndarray, jaccard: PairJaccard, threshold: float) -> Clusters:
    """Near-duplicate `Clusters` of `rows` records from their distinct candidate pairs (sorted keys
    `i * rows + j`, i < j): each pair checked with `jaccard`, components of the pairs at or above the
    threshold, and every member's similarity to its cluster's first record. `jaccard(left, right)` gives the
    exact Jaccard similarity of row pairs, wherever the shingles are (in memory, or on workers).
    """
    left, right = keys // max(rows, 1), keys % max(rows, 1)
    pair_similarity = jaccard(left, right)
    similar = pair_similarity >= threshold
    left, right, pair_similarity = left[similar], right[similar], pair_similarity[similar]
    labels = component_labels(rows, left, right)
    # Most members are linked to their cluster's first row directly; compute only the others.
    similarity = np.full(rows, np.nan)
    similarity[labels == np.arange(rows)] = 1.0
    direct = labels[right] == left
    similarity[right[direct]] = pair_similarity[direct]
    indirect = np.flatnonzero(np.isnan(similarity))
    similarity[indirect] = jaccard(indirect, labels[indirect])
    return Clusters("minhash", labels, similarity, np.column_stack((left, right)), len(keys))


class ExactDuplicateFinder:
    """Exact-duplicate clusters: records whose (normalised) texts have the same MD5 digest."""

    def __init__(self, normalize: bool = True) -> None:
        self.normalize = normalize
        self._digests: list[np.ndarray] = []
        self._null: list[np.ndarray] = []

    def sketch(self, texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        """(rows, 2) uint64 MD5 digests, and the null mask (null texts are never duplicates)."""
        null = null_mask(texts)
        plain = texts.cast(pa.string()).fill_null("")
        connection = thread_connection()
        connection.register("records", pa.table({"text": normalize_text(plain) if self.normalize else plain}))
        try:
            digests = connection.sql("SELECT unhex(md5(text)) AS digest FROM records").to_arrow_table()["digest"]
        finally:
            connection.unregister("records")
        data = digests.combine_chunks().buffers()[2]
        return np.frombuffer(data, dtype=np.uint64, count=2 * len(texts)).reshape(-1, 2), null

    def add(self, sketch: tuple[np.ndarray, np.ndarray]) -> None:
        self._digests.append(sketch[0])
        self._null.append(sketch[1])

    def finish(self) -> Clusters:
        digests = np.concatenate(self._digests) if self._digests else np.zeros((0, 2), np.uint64)
        rows = len(digests)
        labels = np.arange(rows, dtype=np.int64)
        present = np.flatnonzero(~np.concatenate(self._null)) if self._null else labels
        keys = np.ascontiguousarray(digests[present]).view("V16").ravel()
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        labels[present] = present[first[inverse]]
        moved = np.flatnonzero(labels != np.arange(rows))
        return Clusters("exact", labels, np.ones(rows, dtype=np.float64), np.column_stack((labels[moved], moved)))

    def close(self) -> None:
        self._digests = []


def _in_memory(finder: Finder[S], texts: Texts, threads: int = 2) -> Clusters:
    """Run a finder over an in-memory array, chunked so that both cores work."""
    array = texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts
    chunks = [array.slice(start, _CHUNK_ROWS) for start in range(0, len(array), _CHUNK_ROWS)]
    try:
        with ThreadPoolExecutor(threads) as pool:
            for sketch in pool.map(finder.sketch, chunks):
                finder.add(sketch)
        return finder.finish()
    finally:
        finder.close()


def find_near_duplicates(texts: Texts, *, threshold: float = 0.8, num_perm: int = 128, ngram: int = 3,
                         seed: int = 1, normalize: bool = True) -> Clusters:
    """Near-duplicate `Clusters` of in-memory texts (labels, similarity to the kept row, similar pairs)."""
    settings = validate_params(MinHashSettings, {"threshold": threshold, "num_perm": num_perm, "ngram": ngram,
                                                 "seed": seed, "normalize": normalize}, "near-duplicate search")
    return _in_memory(NearDuplicateFinder(settings), texts)


def near_duplicate_clusters(texts: Texts, *, threshold: float = 0.8, num_perm: int = 128, ngram: int = 3,
                            seed: int = 1, normalize: bool = True) -> np.ndarray:
    """int64 cluster id per row: rows whose shingle sets are linked by Jaccard >= threshold share the row
    number of their cluster's first row; every other row has its own row number. Null texts are never
    duplicates; empty texts (after normalisation) are duplicates of each other."""
    return find_near_duplicates(texts, threshold=threshold, num_perm=num_perm, ngram=ngram, seed=seed,
                                normalize=normalize).labels


def exact_duplicate_clusters(texts: Texts, normalize: bool = True) -> np.ndarray:
    """int64 cluster id per row, as `near_duplicate_clusters`, for texts equal after normalisation."""
    return _in_memory(ExactDuplicateFinder(normalize), texts).labels


Method = Literal["exact", "minhash"]


def make_finder(method: Method, settings: MinHashSettings, spill_folder: Path | None = None) -> Finder[Any]:
    if method == "exact":
        return ExactDuplicateFinder(settings.normalize)
    return NearDuplicateFinder(settings, spill_folder)
