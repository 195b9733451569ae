"""The sampler comparison in miniature, end to end through the command line: data, scores, samples, training,
report; a rerun trains nothing, and an interrupted experiment continues with the runs it had not finished."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from datatrainer.errors import DatatrainerError
from datatrainer.experiments.convergence import steps_to_reach
from datatrainer.experiments.data import ensure_mixture
from datatrainer.experiments.mixture import MixtureParams
from datatrainer.workspace import Workspace
from tests.scoring.interrupt import signal_when

pytestmark = pytest.mark.slow

TINY = ["--steps", "6", "--eval-every", "3", "--seq-len", "32", "--batch-size", "4", "--layers", "1", "--width", "32",
        "--vocab", "300", "--threads", "1"]


def cli(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "datatrainer", "--no-progress", "-w", str(root), *args],
                            capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"})
    if check:
        assert result.returncode == 0, result.stderr
    return result


SMALL = {"clean": 60, "validation": 20, "target": 20}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A workspace holding a small default mixture, made by the library (the CLI path is tested below)."""
    folder = tmp_path / "ws"
    with Workspace.init(folder) as ws:
        ensure_mixture(ws, MixtureParams(**SMALL))
    return folder


def run_files(root: Path) -> dict[str, tuple[int, bytes]]:
    return {path.name: (path.stat().st_mtime_ns, path.read_bytes())
            for path in root.glob("experiments/samplers-*/runs/*.json")}


def test_miniature_experiment(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    cli(root, "init")
    made = cli(root, "experiment", "data", *(f"--{key}={value}" for key, value in SMALL.items()))
    assert "crawl-mix@1 (120 records)" in made.stdout  # 60 clean are half: 30% junk, 20% copies
    out = root / "report.html"
    args = ["experiment", "samplers", "crawl-mix@1", "--samplers", "random,dsir", "--budgets", "50", "--seeds",
            "1", *TINY, "--out", str(out)]
    result = cli(root, *args)
    assert "report" in result.stdout
    report = json.loads(out.with_suffix(".json").read_text())
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    page = out.read_text()
    assert "<svg" in page and "Steps to the full-data final loss" in page and "http" not in page.split("<svg")[0]
    assert {(row["sampler"], row["budget"]) for row in report["rows"]} == {("full", 100), ("random", 50),
                                                                          ("dsir", 50)}
    runs = {p.stem: json.loads(p.read_text()) for p in root.glob("experiments/samplers-*/runs/*.json")}
    assert set(runs) == {"full-100-s0", "random-50-s0", "dsir-50-s0"}
    target = runs["full-100-s0"]["eval_losses"][-1]
    assert report["targets"] == [target]
    for row in report["rows"]:  # the table's steps are the first evaluation at or below the target
        run = runs[f"{row['sampler']}-{row['budget']}-s0"]
        assert run["eval_steps"] == [3, 6]
        assert row["steps_to_target"] == [steps_to_reach(run["eval_steps"], run["eval_losses"], target)]
    with Workspace.open(root) as ws:
        pool = ws.version("crawl-mix@1")
        for sampler in ("random", "dsir"):
            sample = ws.version(runs[f"{sampler}-50-s0"]["sample"])
            assert sample.info.parents == (pool.ref,) and sample.num_rows == pool.num_rows // 2
            assert sample.info.params["by"] == sampler and sample.info.params["budget"] == "50%"
        assert ws.version(runs["dsir-50-s0"]["sample"]).info.params["target"] == "crawl-mix-target@1"
        assert runs["full-100-s0"]["sample"] == pool.ref
        assert sum(runs["random-50-s0"]["composition"].values()) == pool.num_rows // 2
        trained = {name: ws.models.find(run["model"]) for name, run in runs.items()}
        assert all(model is not None and model.dataset_ref == runs[name]["sample"] for name, model in trained.items())
        versions = len(ws.datasets.versions("crawl-mix-random-50"))
    before = run_files(root)
    again = cli(root, *args)  # everything is stored: no sampling, no training
    assert "3 of 3 runs done" in again.stdout
    assert run_files(root) == before
    with Workspace.open(root) as ws:
        assert len(ws.datasets.versions("crawl-mix-random-50")) == versions


def test_interrupted_experiment_resumes(root: Path) -> None:
    args = ["experiment", "samplers", "crawl-mix@1", "--samplers", "random", "--budgets", "50", "--seeds", "2",
            *TINY]
    # The shared helper gives the run Ctrl-C back (a suite started in the background inherits it ignored) and
    # a lower priority than this watcher, so the signal lands while runs are left.
    process, stdout = signal_when(["-w", root, *args], lambda: bool(run_files(root)), signal.SIGINT, timeout=240)
    finished = run_files(root)
    assert process.returncode == 130, stdout
    assert "run the same command to continue" in stdout
    assert 0 < len(finished) < 4
    result = cli(root, *args)
    assert f"{len(finished)} of 4 runs done" in result.stdout
    after = run_files(root)
    assert len(after) == 4
    assert {name: after[name] for name in finished} == finished  # finished runs were not trained again
    with Workspace.open(root) as ws:
        names = [json.loads(content)["model"] for _, content in after.values()]
        assert all(ws.models.find(name) is not None for name in names) and len(set(names)) == 4


def test_unknown_sampler_is_a_one_line_error(tmp_path: Path) -> None:
    """Refused before any training starts (in-process: the subprocess path of `error:` lines is the CLI's)."""
    from typer.testing import CliRunner

    from datatrainer.cli.app import app

    (tmp_path / "x.jsonl").write_text('{"id": "a", "text": "One record."}\n')
    with Workspace.init(tmp_path / "ws") as ws:  # the command runs as a job: its input must exist to be pinned
        ws.ingest(tmp_path / "x.jsonl", "x")
    result = CliRunner().invoke(app, ["-w", str(tmp_path / "ws"), "experiment", "samplers", "x@1", "--samplers",
                                      "random,nope"])
    assert isinstance(result.exception, DatatrainerError)
    assert str(result.exception).startswith("--samplers: unknown sampler 'nope'; choose from ")
    assert "\n" not in str(result.exception)
