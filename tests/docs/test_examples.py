"""Every script in examples/ runs on bundled data, and what it leaves in its workspace is checked against an
independent reading of the inputs (the JSONL it ingested, the source labels, scikit-learn's kappa)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sklearn.metrics import cohen_kappa_score

from datatrainer.annotation.agreement_report import group_by_item
from datatrainer.annotation.types import local_admin
from datatrainer.workspace import Workspace

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SCRIPTS = sorted(path.name for path in EXAMPLES.glob("*.py") if not path.name.startswith("_"))


def run_example(name: str, workspace: Path) -> str:
    run = subprocess.run([sys.executable, str(EXAMPLES / name), str(workspace)], capture_output=True, text=True,
                         timeout=600, env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    assert run.returncode == 0, f"{name} failed:\n{run.stdout}\n{run.stderr}"
    return run.stdout


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_every_example_is_tested() -> None:
    tested = {name.removeprefix("test_") + ".py" for name in globals() if name.startswith("test_")}
    assert set(SCRIPTS) <= tested, set(SCRIPTS) - tested


@pytest.mark.slow
def test_ingest_and_report(tmp_path: Path) -> None:
    run_example("ingest_and_report.py", tmp_path)
    records = _lines(tmp_path / "inputs" / "crawl.jsonl")
    report = json.loads((tmp_path / "reports" / "quality-crawl-1.json").read_text(encoding="utf-8"))
    assert report["summary"]["records"] == len(records)
    assert (tmp_path / "reports" / "quality-crawl-1.html").stat().st_size > 10_000


@pytest.mark.slow
def test_filter_dedup_export(tmp_path: Path) -> None:
    out = run_example("filter_dedup_export.py", tmp_path)
    records = _lines(tmp_path / "inputs" / "crawl.jsonl")
    exported = pq.read_table(tmp_path / "exports" / "crawl-clean" / "data").to_pylist()
    ids = [row["id"] for row in exported]
    assert len(set(ids)) == len(ids)
    removed = int(re.search(r"removed (\d+), kept (\d+)", out).group(1))  # type: ignore[union-attr]
    assert len(exported) == len(records) - removed
    # the planted exact copies are gone: no two exported texts are identical
    assert len({row["text"] for row in exported}) == len(exported)
    # and every exported record is an ingested one, unchanged
    source = {str(r["id"]): r["text"] for r in records}
    assert all(source[row["id"]] == row["text"] for row in exported)


@pytest.mark.slow
def test_embed_density_sample(tmp_path: Path) -> None:
    run_example("embed_density_sample.py", tmp_path)
    records = _lines(tmp_path / "inputs" / "reviews.jsonl")
    with Workspace.open(tmp_path) as ws:
        sample = ws.version("reviews-sample")
        ids = sample.to_table(columns=["id"]).column("id").to_pylist()
        assert len(ids) == len(records) // 4 and len(set(ids)) == len(ids)
        assert set(ids) <= {r["id"] for r in records}
        assert len(ws.scores.scores_for(ws.version("reviews"), "density")) == len(records)
    assert (tmp_path / "reports" / "coverage-reviews-1-reviews-sample-1.json").is_file()


@pytest.mark.slow
def test_annotation_workflow(tmp_path: Path) -> None:
    out = run_example("annotation_workflow.py", tmp_path)
    labels = {str(r["id"]): r["label"] for r in _lines(tmp_path / "inputs" / "reviews.jsonl")}
    with Workspace.open(tmp_path) as ws:
        gold = ws.version("sentiment-gold").to_table(columns=["id", "labels"]).to_pylist()
        assert len(gold) == 20
        assert all(row["labels"] == [labels[row["id"]]] for row in gold)  # agreed or adjudicated to the source
        by_item = group_by_item(ws.annotation.annotated_docs(local_admin(), "sentiment", per_annotator=True))
        items = sorted(by_item)
        kappa = cohen_kappa_score([by_item[i]["alice"].labels[0] for i in items],
                                  [by_item[i]["bob"].labels[0] for i in items])
        assert ws.audit.verify().ok
    assert f"Cohen's kappa alice/bob {kappa:.3f}" in out


@pytest.mark.slow
def test_python_api(tmp_path: Path) -> None:
    out = run_example("python_api.py", tmp_path)
    records = _lines(tmp_path / "inputs" / "crawl.jsonl")
    long_enough = {str(r["id"]) for r in records if len(str(r["text"])) >= 200}
    with Workspace.open(tmp_path) as ws:
        assert ws.version("crawl@1").num_rows == len(records)
        assert set(ws.version("crawl@2").to_table(columns=["id"]).column("id").to_pylist()) == long_enough
        unique = set(ws.version("crawl@3").to_table(columns=["id"]).column("id").to_pylist())
        sample = ws.version("crawl-sample").to_table(columns=["id"]).column("id").to_pylist()
        assert len(sample) == len(unique) // 2 and set(sample) <= unique
        assert len(ws.scores.scores_for(ws.version("crawl@3"), "density")) == len(unique)
    report = json.loads((tmp_path / "reports" / "quality-crawl-sample-1.json").read_text(encoding="utf-8"))
    assert report["summary"]["records"] == len(sample)
    assert f"crawl-sample@1: {len(sample)} records" in out
