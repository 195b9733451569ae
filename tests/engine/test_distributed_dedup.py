"""MinHash dedup as shuffles (`quality.dedup_distributed`) against the in-memory finder: the same candidate
pairs as the C kernel, the same clusters, and on Ray the same published version (rows, `dropped` and
`clusters` artifacts, statistics) as the local engine's, on a version of several parts with planted near and
exact copies."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from datatrainer.engine.base import PARTITION
from datatrainer.engine.local import LocalEngine
from datatrainer.operations.dedup import DedupParams, _find_in_memory
from datatrainer.quality.dedup_distributed import _bucket_pairs, distributed_near_duplicates
from datatrainer.quality.minhash import candidate_pairs
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace

PARAMS = {"method": "minhash", "threshold": 0.7, "num_perm": 64}


def test_bucket_pairs_are_the_kernels_candidate_pairs() -> None:
    rng = np.random.default_rng(3)
    rows, bands = 400, 6
    matrix = rng.integers(0, 60, (rows, bands)).astype(np.uint64)  # many buckets of several rows
    null = rng.random(rows) < 0.1
    expected = candidate_pairs(matrix)
    expected = expected[~(null[expected[:, 0]] | null[expected[:, 1]])]
    shuffled = rng.permutation(rows * bands)  # a partition receives its rows in any order
    keys = pa.table({"band": np.tile(np.arange(bands, dtype=np.int16), rows)[shuffled],
                     "hash": matrix.ravel()[shuffled], "row": np.repeat(np.arange(rows), bands)[shuffled],
                     "null": np.repeat(null, bands)[shuffled]})
    np.testing.assert_array_equal(_bucket_pairs(rows, 0, keys), np.sort(expected[:, 0] * rows + expected[:, 1]))


@pytest.fixture
def planted(sqlite_workspace: Workspace, tmp_path: Path) -> DatasetVersion:
    """1,500 records in 8 parts: random word runs, 20% near copies of earlier ones (one word changed), 5% exact
    copies, and a few empty texts (duplicates of each other)."""
    rng = np.random.default_rng(7)
    vocabulary = [f"w{i}" for i in range(400)]
    texts: list[str] = []
    for i in range(1500):
        kind = rng.random()
        if i and kind < 0.2:
            words = texts[int(rng.integers(0, i))].split() or ["x"]
            words[int(rng.integers(0, len(words)))] = "changed"
            texts.append(" ".join(words))
        elif i and kind < 0.25:
            texts.append(texts[int(rng.integers(0, i))])
        elif kind < 0.27:
            texts.append("")
        else:
            texts.append(" ".join(rng.choice(vocabulary, int(rng.integers(3, 40)))))
    path = tmp_path / "planted.jsonl"
    path.write_text("".join(json.dumps({"id": f"d{i:05d}", "text": text}) + "\n" for i, text in enumerate(texts)))
    source = sqlite_workspace.ingest(path, "planted")
    return sqlite_workspace.apply("filter", [source], {"where": "true"}, name="planted-parts",
                                  engine=LocalEngine(batch_size=190))


def test_shuffled_clusters_equal_the_in_memory_finders(planted: DatasetVersion) -> None:
    params = DedupParams.model_validate(PARAMS)
    expected, _ = _find_in_memory(planted, params, LocalEngine(batch_size=256), None)
    found = distributed_near_duplicates(LocalEngine(batch_size=101), planted, params)
    assert expected.summary()["dropped"] > 300  # the planted copies were found
    np.testing.assert_array_equal(found.labels, expected.labels)
    np.testing.assert_array_equal(found.pairs, expected.pairs)
    np.testing.assert_array_equal(found.similarity, expected.similarity)
    assert found.candidate_pairs == expected.candidate_pairs


def test_dedup_on_ray_publishes_the_local_version(sqlite_workspace: Workspace, planted: DatasetVersion,
                                                  ray_engine: Callable[[int], Any]) -> None:
    local = sqlite_workspace.apply("dedup", [planted], PARAMS, name="local", engine=LocalEngine())
    on_ray = sqlite_workspace.apply("dedup", [planted], PARAMS, name="ray", engine=ray_engine(97))
    assert on_ray.to_table().equals(local.to_table())
    for name in ("dropped", "clusters"):
        assert on_ray.artifact(name).equals(local.artifact(name)), name
    assert on_ray.info.stats == local.info.stats


def test_a_shuffle_groups_every_row_once(planted: DatasetVersion, ray_engine: Callable[[int], Any]) -> None:
    def emit(batch: pa.RecordBatch, first: int) -> pa.Table:
        rows = np.arange(first, first + batch.num_rows)
        return pa.table({"row": rows, PARTITION: (rows % 5).astype(np.int32)})

    def reduce(part: int, rows: pa.Table) -> list[int]:
        return sorted(rows["row"].to_pylist())

    expected = [(part, list(range(part, planted.num_rows, 5))) for part in range(5)]
    for engine in (LocalEngine(batch_size=64), ray_engine(64)):
        assert list(engine.shuffle(emit, 5, reduce, planted, ["id"])) == expected
