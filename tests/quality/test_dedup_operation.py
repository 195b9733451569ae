"""The `dedup` operation and command on real workspaces: what is kept, what is recorded, and errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datatrainer.engine.local import LocalEngine
from datatrainer.errors import DatatrainerError
from datatrainer.evaluation.fixtures.dupcorpus import PlantedCorpus, planted_corpus
from datatrainer.operations import dedup as dedup_operation
from datatrainer.quality import spool
from datatrainer.quality.dedup import exact_duplicate_clusters, near_duplicate_clusters
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace


@pytest.fixture(scope="module")
def corpus() -> PlantedCorpus:
    return planted_corpus(3_000, near_fraction=0.15, seed=11)


def _ingest(ws: Workspace, table: pa.Table, tmp_path: Path, name: str = "web") -> DatasetVersion:
    path = tmp_path / f"{name}.parquet"
    pq.write_table(table, path)
    return ws.ingest(path, name)


def _check_output(source: DatasetVersion, result: DatasetVersion, labels: np.ndarray) -> None:
    """The kept records are exactly the first of each cluster, unchanged and in order, and the artifacts
    account for every other record."""
    table = source.to_table()
    first = labels == np.arange(len(labels))
    assert result.to_table().equals(table.filter(pa.array(first)))
    dropped = result.artifact("dropped")
    assert result.num_rows + dropped.num_rows == source.num_rows
    assert sorted(dropped["id"].to_pylist()) == sorted(table["id"].filter(pa.array(~first)).to_pylist())
    kept_ids = set(result.to_table(columns=["id"])["id"].to_pylist())
    assert set(dropped["kept_id"].to_pylist()) <= kept_ids
    ids = table["id"].to_pylist()
    assert all(ids[cluster] == kept for cluster, kept in
               zip(dropped["cluster"].to_pylist(), dropped["kept_id"].to_pylist(), strict=True))
    clusters = result.artifact("clusters")
    members = clusters.to_pydict()
    assert sum(members["kept"]) == result.info.stats["clusters"]
    assert len(members["id"]) == result.info.stats["clusters"] + dropped.num_rows
    for cluster, kept, similarity in zip(members["cluster"], members["kept"], members["similarity"], strict=True):
        assert (similarity == 1.0) if kept else (0 < similarity <= 1.0)
        assert cluster == labels[cluster]


def test_near_dedup_keeps_the_first_record_of_each_cluster(workspace: Workspace, corpus: PlantedCorpus,
                                                          tmp_path: Path) -> None:
    source = _ingest(workspace, corpus.table, tmp_path)
    result = workspace.apply("dedup", [source], {"threshold": 0.7}, name="web-dedup")
    labels = near_duplicate_clusters(corpus.texts, threshold=0.7)
    _check_output(source, result, labels)
    assert result.info.operation == "dedup" and list(result.info.parents) == ["web@1"]
    stats = result.info.stats
    assert stats["dropped"] == int((labels != np.arange(len(labels))).sum()) > 200
    assert stats["bands"] * stats["rows_per_band"] <= 128
    assert result.info.params["threshold"] == 0.7 and result.info.params["method"] == "minhash"
    reasons = set(result.artifact("dropped")["reason"].to_pylist())
    assert reasons <= {"near-duplicate (jaccard >= 0.7)", "near-duplicate through another member (jaccard < 0.7)"}


def test_exact_dedup_and_its_reason(sqlite_workspace: Workspace, corpus: PlantedCorpus, tmp_path: Path) -> None:
    source = _ingest(sqlite_workspace, corpus.table, tmp_path)
    result = sqlite_workspace.apply("dedup", [source], {"method": "exact", "threshold": 0.5})
    _check_output(source, result, exact_duplicate_clusters(corpus.texts))
    assert result.info.params == {"method": "exact", "normalize": True}  # MinHash settings played no part
    assert set(result.artifact("dropped")["reason"].to_pylist()) == {"exact duplicate (same normalised text)"}
    assert set(result.artifact("dropped")["similarity"].to_pylist()) == {1.0}


def test_same_result_whatever_the_threads_batches_and_spill(sqlite_workspace: Workspace,
                                                                  corpus: PlantedCorpus, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    source = _ingest(sqlite_workspace, corpus.table, tmp_path)
    expected = sqlite_workspace.apply("dedup", [source], {"threshold": 0.8, "seed": 7})
    monkeypatch.setattr(spool, "DEFAULT_MEMORY_BUDGET", 1024)  # sketches go through temporary files
    monkeypatch.setattr(dedup_operation, "_MIN_BATCH_ROWS", 100)
    spilled: list[str] = []
    temporary_file = spool.tempfile.NamedTemporaryFile

    def counting(*args: Any, **kwargs: Any) -> Any:
        handle = temporary_file(*args, **kwargs)
        spilled.append(handle.name)
        return handle

    monkeypatch.setattr(spool.tempfile, "NamedTemporaryFile", counting)
    again = sqlite_workspace.apply("dedup", [source], {"threshold": 0.8, "seed": 7},
                                   engine=LocalEngine(threads=1, batch_size=700))
    assert len(spilled) == 2  # shingle hashes and band hashes went to disk
    assert again.to_table().equals(expected.to_table())
    assert again.artifact("clusters").equals(expected.artifact("clusters"))
    assert again.artifact("dropped").equals(expected.artifact("dropped"))
    assert not list((sqlite_workspace.root / "tmp").iterdir())  # temporary sketches are gone


def test_empty_version_and_version_without_duplicates(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    unique = pa.table({"id": ["a", "b", "c"], "text": ["one two three", "four five six", "seven eight nine"]})
    source = _ingest(sqlite_workspace, unique, tmp_path, "unique")
    for method in ("minhash", "exact"):
        result = sqlite_workspace.apply("dedup", [source], {"method": method})
        assert result.to_table().equals(source.to_table())
        assert result.artifact("dropped").num_rows == 0 and result.artifact("clusters").num_rows == 0
        assert result.info.stats["dropped"] == 0 and result.info.stats["clusters"] == 0
    empty = sqlite_workspace.apply("filter", [source], {"where": "false"}, name="empty")
    for method in ("minhash", "exact"):
        result = sqlite_workspace.apply("dedup", [empty], {"method": method})
        assert result.num_rows == 0 and result.schema == source.schema
        assert result.info.stats["rows"] == 0


@pytest.mark.parametrize(("params", "message"), [
    ({"threshold": 0}, "threshold: Input should be greater than 0"),
    ({"threshold": 1.01}, "threshold: Input should be less than or equal to 1"),
    ({"num_perm": 8, "bands": 16}, "num-perm (8) must be at least bands (16)"),
    ({"ngram": 0}, "ngram: Input should be greater than or equal to 1"),
    ({"method": "fuzzy"}, "method: Input should be 'exact' or 'minhash'"),
])
def test_bad_parameters_are_one_line_errors(sqlite_workspace: Workspace, tmp_path: Path,
                                            params: dict[str, object], message: str) -> None:
    source = _ingest(sqlite_workspace, pa.table({"id": ["a"], "text": ["x"]}), tmp_path)
    with pytest.raises(DatatrainerError) as error:
        sqlite_workspace.apply("dedup", [source], params)
    assert message in str(error.value) and "\n" not in str(error.value)
    assert [v.ref for v in sqlite_workspace.datasets.versions("web")] == ["web@1"]


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "datatrainer", "--no-progress", *map(str, args)],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"})


def test_cli_end_to_end(tmp_path: Path, corpus: PlantedCorpus) -> None:
    data = tmp_path / "corpus.parquet"
    pq.write_table(corpus.table.slice(0, 1_000), data)
    ws = tmp_path / "ws"
    with Workspace.init(ws) as workspace:
        workspace.ingest(data, "web")
    done = _cli("-w", ws, "dedup", "web@1", "--method", "minhash", "--threshold", "0.75", "--num-perm", "64",
                "--ngram", "2", "--seed", "3", "--name", "web-clean")
    assert done.returncode == 0, done.stderr
    assert "created web-clean@1: kept" in done.stdout and "duplicates in" in done.stdout
    with Workspace.open(ws) as workspace:
        result = workspace.version("web-clean@1")
        assert result.info.params | {"bands": None} == {"method": "minhash", "threshold": 0.75, "num_perm": 64,
                                                        "ngram": 2, "seed": 3, "normalize": True, "bands": None}
        labels = near_duplicate_clusters(corpus.texts.slice(0, 1_000), threshold=0.75, num_perm=64, ngram=2,
                                         seed=3)
        assert result.num_rows == int((labels == np.arange(len(labels))).sum())
    shown = _cli("-w", ws, "datasets", "dropped", "web-clean@1", "--artifact", "clusters", "-n", "3")
    assert shown.returncode == 0 and "similarity" in shown.stdout
    failed = _cli("-w", ws, "dedup", "web@1", "--threshold", "2", "--no-normalize")
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert failed.stderr.strip() == "error: operation 'dedup': threshold: Input should be less than or equal to 1"
